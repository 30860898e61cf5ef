// The least-privilege Role for each platform: what the provider's requests need, no more. rbac.test.ts checks every
// rule against the requests whole lifecycles make, and the summary prints them as YAML for the README.
import type { RequestRecord } from "../emulator/requestLog";

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

const SNAPSHOT_VERBS = ["create", "delete", "get", "list", "patch", "watch"];

export const ROLES: Record<"deckhouse" | "kubevirt", Rule[]> = {
  deckhouse: [
    {
      apiGroups: ["virtualization.deckhouse.io"],
      resources: [
        "virtualdisksnapshots",
        "virtualmachinesnapshots",
        "virtualmachineoperations",
        "virtualmachinesnapshotoperations",
        "virtualmachinerestores",
      ],
      verbs: SNAPSHOT_VERBS,
    },
    // deleteRestoredResources: the VM and disks a restore created under new names.
    {
      apiGroups: ["virtualization.deckhouse.io"],
      resources: ["virtualmachines", "virtualdisks"],
      verbs: ["delete", "get", "list", "watch"],
    },
  ],
  kubevirt: [
    {
      apiGroups: ["snapshot.kubevirt.io"],
      resources: ["virtualmachinesnapshots", "virtualmachinerestores"],
      verbs: SNAPSHOT_VERBS,
    },
    { apiGroups: ["snapshot.storage.k8s.io"], resources: ["volumesnapshots"], verbs: SNAPSHOT_VERBS },
    // A restore's target VM, and deleteRestoredResources: the VM a restore created.
    { apiGroups: ["kubevirt.io"], resources: ["virtualmachines"], verbs: ["delete", "get", "list", "watch"] },
    // Disk snapshots wait for the DataVolume to be populated and the claim to be bound.
    { apiGroups: ["cdi.kubevirt.io"], resources: ["datavolumes"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["persistentvolumeclaims"], verbs: ["delete", "get", "list", "watch"] },
  ],
};

/** "group/resource verb" for each request to a namespaced resource; discovery and other paths need no Role. */
export function grantsUsed(requests: RequestRecord[]): Set<string> {
  const used = new Set<string>();
  for (const r of requests) {
    const m = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/namespaces\/[^/]+\/([^/]+)/.exec(r.path);
    if (m) used.add(`${m[1] ?? ""}/${m[2]} ${r.verb}`);
  }
  return used;
}

/** The same "group/resource verb" strings for what a Role grants. */
export function grantsOf(rules: Rule[]): Set<string> {
  return new Set(
    rules.flatMap((rule) =>
      rule.apiGroups.flatMap((g) =>
        rule.resources.flatMap((res) => rule.verbs.map((v) => `${g}/${res} ${v}`)),
      ),
    ),
  );
}

/** The Role as YAML a user applies in the namespace the stack manages. */
export function roleYaml(name: string, rules: Rule[]): string {
  const list = (items: string[]) => `[${items.map((i) => JSON.stringify(i)).join(", ")}]`;
  return [
    "apiVersion: rbac.authorization.k8s.io/v1",
    "kind: Role",
    "metadata:",
    `  name: ${name}`,
    "  namespace: <namespace>",
    "rules:",
    ...rules.flatMap((r) => [
      `  - apiGroups: ${list(r.apiGroups)}`,
      `    resources: ${list(r.resources)}`,
      `    verbs: ${list(r.verbs)}`,
    ]),
  ].join("\n");
}
