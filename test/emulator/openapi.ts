// Just enough OpenAPI v3 for kubectl: it checks that PATCH takes fieldValidation before it trusts the
// server to validate, and refuses to apply without a document (no schemas: nothing validates client-side).
import { type Catalog } from "./catalog";
import { type ResourceType } from "./store";

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

/** The /openapi/v3 index: one document per served group version. */
export function openapiIndex(catalog: Catalog) {
  const gvs = [
    ...(catalog.kinds("", "v1").length ? [["", "v1"]] : []),
    ...catalog.groups().flatMap((g) => g.versions.map((v) => [g.name, v])),
  ];
  return {
    paths: Object.fromEntries(
      gvs.map(([g, v]) => [gvPath(g, v), { serverRelativeURL: `/openapi/v3/${gvPath(g, v)}` }]),
    ),
  };
}

function objectPaths(t: ResourceType) {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const prefix = `/${gvPath(t.group, t.version)}${t.namespaced ? "/namespaces/{namespace}" : ""}/${t.plural}/{name}`;
  const operation = {
    "x-kubernetes-group-version-kind": gvk,
    parameters: [
      { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
    ],
    responses: { "200": { description: "OK" } },
  };
  return [[prefix, { get: { "x-kubernetes-group-version-kind": gvk }, put: operation, patch: operation }]];
}

/** The document of one group version, or undefined when it is not served. */
export function openapiGroupVersion(catalog: Catalog, group: string, version: string) {
  const kinds = catalog.kinds(group, version);
  if (!kinds.length) return undefined;
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths: Object.fromEntries(kinds.flatMap(objectPaths)),
    components: {
      schemas: Object.fromEntries(
        kinds.map((t) => [
          `${t.group || "core"}.${t.version}.${t.kind}`,
          {
            type: "object",
            "x-kubernetes-group-version-kind": [{ group: t.group, version: t.version, kind: t.kind }],
            "x-kubernetes-preserve-unknown-fields": true,
          },
        ]),
      ),
    },
  };
}
