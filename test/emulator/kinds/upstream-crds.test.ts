// Our schemas against the platforms' published CRDs (shared/crds, never copied into the repo): the same
// field names, required fields, enums, defaults, bounds and CEL messages, and the same names and scope.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import yaml from "js-yaml";
import { apiVersionOf, type ResourceType } from "../store";
import { deckhouseSchemas } from "./deckhouse-schemas";
import { kubevirtSchemas } from "./kubevirt-schemas";
import { profile } from "./profiles";
import type { Schema } from "./schema";

const upstreamDir =
  process.env.VM_SNAPSHOTS_UPSTREAM_CRDS ?? path.resolve(__dirname, "../../../../shared/crds");

/** Kinds whose schema may be a subset (its loose parts marked preserveUnknownFields), each said so on the kind. */
const standIns = new Set([
  "VirtualDisk.virtualization.deckhouse.io",
  "VirtualMachine.virtualization.deckhouse.io",
  "VirtualMachineSnapshotContent.snapshot.kubevirt.io",
]);

const ourSchemas: Record<string, Schema> = { ...deckhouseSchemas, ...kubevirtSchemas };
const ourTypes = [...profile("deckhouse-v1.8"), ...profile("deckhouse-v1.10"), ...profile("kubevirt")];

interface Crd {
  file: string;
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      subresources?: { status?: object };
      schema: { openAPIV3Schema: any };
    }>;
  };
}

function upstreamCrds(dir: string): Crd[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => /\.ya?ml$/.test(f));
  return files.flatMap((file) =>
    yaml
      .loadAll(readFileSync(path.join(dir, file), "utf8"))
      .filter((doc: any) => doc?.kind === "CustomResourceDefinition")
      .map((doc: any) => ({ file, spec: doc.spec })),
  );
}

const bounds = [
  "minLength",
  "maxLength",
  "pattern",
  "minimum",
  "maximum",
  "minItems",
  "maxItems",
  "nullable",
] as const;
const sameSet = (a: readonly unknown[] = [], b: readonly unknown[] = []) =>
  a.length === b.length && a.every((x) => b.includes(x));

/** Where ours and theirs disagree; `loose` below a node of ours that preserves unknown fields theirs lists. */
function differences(
  ours: Schema,
  theirs: any,
  at: string,
  loose: boolean,
  found: { loose: boolean; list: string[] },
) {
  const where = at || "<root>";
  const say = (what: string) => found.list.push(`${where}: ${what}`);
  const marksLoose =
    ours.preserveUnknownFields === true && theirs["x-kubernetes-preserve-unknown-fields"] !== true;
  if (marksLoose) found.loose = true;
  loose ||= marksLoose;
  if (ours.type !== theirs.type) say(`type ${ours.type} upstream ${theirs.type}`);
  if (!!ours.intOrString !== !!theirs["x-kubernetes-int-or-string"]) say("int-or-string differs");
  if (!ours.preserveUnknownFields && theirs["x-kubernetes-preserve-unknown-fields"])
    say("upstream preserves unknown fields");
  if (!sameSet(ours.enum, theirs.enum))
    say(`enum ${JSON.stringify(ours.enum)} upstream ${JSON.stringify(theirs.enum)}`);
  if (!isDeepStrictEqual(ours.default, theirs.default))
    say(`default ${JSON.stringify(ours.default)} upstream ${JSON.stringify(theirs.default)}`);
  for (const bound of bounds) {
    if ((ours[bound] !== undefined || !loose) && ours[bound] !== theirs[bound])
      say(`${bound} ${ours[bound]} upstream ${theirs[bound]}`);
  }
  if (
    (ours.format !== undefined || (!loose && theirs.format === "date-time")) &&
    ours.format !== theirs.format
  ) {
    say(`format ${ours.format} upstream ${theirs.format}`);
  }
  if (theirs.oneOf && !loose) say("upstream oneOf is not modelled");
  const required = ours.required ?? [];
  if (
    required.some((r) => !(theirs.required ?? []).includes(r)) ||
    (!loose && !sameSet(required, theirs.required))
  ) {
    say(`required ${JSON.stringify(required)} upstream ${JSON.stringify(theirs.required ?? [])}`);
  }
  const rules = (ours.rules ?? []).map((r) => `${r.rule} => ${r.message}`);
  const theirRules = (theirs["x-kubernetes-validations"] ?? []).map((r: any) => `${r.rule} => ${r.message}`);
  if (rules.some((r) => !theirRules.includes(r)) || (!loose && !sameSet(rules, theirRules))) {
    say(`rules ${JSON.stringify(rules)} upstream ${JSON.stringify(theirRules)}`);
  }
  const theirProperties: Record<string, any> = theirs.properties ?? {};
  const ignored = at === "" ? ["apiVersion", "kind", "metadata"] : [];
  for (const [key, prop] of Object.entries(ours.properties ?? {})) {
    const child = at ? `${at}.${key}` : key;
    if (theirProperties[key]) differences(prop, theirProperties[key], child, loose, found);
    else found.list.push(`${child}: not upstream`);
  }
  for (const key of Object.keys(theirProperties)) {
    if (!loose && !ignored.includes(key) && !ours.properties?.[key])
      found.list.push(`${at ? `${at}.` : ""}${key}: missing`);
  }
  if (theirs.items && ours.items) differences(ours.items, theirs.items, `${at}[]`, loose, found);
  else if (theirs.items && !loose) say("items missing");
  const theirMap = typeof theirs.additionalProperties === "object" ? theirs.additionalProperties : undefined;
  if (theirMap && ours.additionalProperties)
    differences(ours.additionalProperties, theirMap, `${at}{}`, loose, found);
  else if (!!theirMap !== !!ours.additionalProperties && !loose) say("additionalProperties differ");
}

describe("our kinds against the upstream CRDs", function () {
  const crds = upstreamCrds(upstreamDir);
  if (!crds.length) {
    it(`needs the upstream CRDs in ${upstreamDir} (or VM_SNAPSHOTS_UPSTREAM_CRDS)`, function () {
      this.skip();
    });
    return;
  }

  for (const crd of crds) {
    const { group, names } = crd.spec;
    const id = `${names.kind}.${group}`;

    it(`${id} (${crd.file}): names, scope, versions and status subresource`, () => {
      const served = crd.spec.versions.filter((v) => v.served);
      const ours: ResourceType[] = ourTypes.filter((t) => t.group === group && t.kind === names.kind);
      assert.ok(ours.length, `no served type for ${id}`);
      assert.deepEqual(
        [...new Set(ours.map((t) => t.version))].sort(),
        served.map((v) => v.name).sort(),
        `${id}: served versions`,
      );
      for (const t of ours) {
        const v = served.find((x) => x.name === t.version)!;
        assert.equal(t.plural, names.plural, `${apiVersionOf(t)} ${t.kind}: plural`);
        assert.deepEqual(t.shortNames ?? [], names.shortNames ?? [], `${t.kind}: shortNames`);
        assert.deepEqual(t.categories ?? [], names.categories ?? [], `${t.kind}: categories`);
        assert.equal(t.namespaced, crd.spec.scope === "Namespaced", `${t.kind}: scope`);
        assert.equal(t.statusSubresource, !!v.subresources?.status, `${t.kind}: status subresource`);
      }
    });

    it(`${id} (${crd.file}): spec and status schema`, () => {
      const ours = ourSchemas[id];
      assert.ok(ours, `no schema for ${id}`);
      for (const version of crd.spec.versions.filter((v) => v.served)) {
        const found = { loose: false, list: [] as string[] };
        differences(ours, version.schema.openAPIV3Schema, "", false, found);
        assert.deepEqual(found.list, [], `${id} ${version.name} differs from upstream`);
        assert.ok(!found.loose || standIns.has(id), `${id} is loose but not declared a stand-in`);
      }
    });
  }
});
