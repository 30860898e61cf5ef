// Legacy discovery documents (/api, /apis, /apis/{group}[/{version}]) that kubectl and client-node read.
import { type Catalog, type ServedGroup } from "./catalog";
import { type ResourceType } from "./store";

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const STATUS_VERBS = ["get", "patch", "update"];

export const KUBERNETES_VERSION = { major: "1", minor: "32" };

export function versionInfo() {
  return {
    ...KUBERNETES_VERSION,
    gitVersion: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.0-vm-snapshots-emulator`,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: "go1.23.0",
    compiler: "gc",
    platform: "linux/amd64",
  };
}

export function coreVersions(serverAddress: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

function group(g: ServedGroup) {
  const versions = g.versions.map((version) => ({ groupVersion: `${g.name}/${version}`, version }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

export function groupList(catalog: Catalog) {
  return { kind: "APIGroupList", apiVersion: "v1", groups: catalog.groups().map(group) };
}

/** The APIGroup document of one group, or undefined when nothing of it is served. */
export function groupDocument(catalog: Catalog, name: string) {
  const g = catalog.groups().find((x) => x.name === name);
  return g && { kind: "APIGroup", apiVersion: "v1", ...group(g) };
}

function resources(t: ResourceType) {
  const main = {
    name: t.plural,
    singularName: t.singular ?? t.kind.toLowerCase(),
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: VERBS,
    ...(t.shortNames?.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories?.length ? { categories: t.categories } : {}),
  };
  if (!t.statusSubresource) return [main];
  return [
    main,
    {
      name: `${t.plural}/status`,
      singularName: "",
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: STATUS_VERBS,
    },
  ];
}

/** The APIResourceList of one group version; the core v1 list may be empty, a named group's may not. */
export function resourceList(catalog: Catalog, groupName: string, version: string) {
  const kinds = catalog.kinds(groupName, version);
  if (groupName && !kinds.length) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources: kinds.flatMap(resources),
  };
}
