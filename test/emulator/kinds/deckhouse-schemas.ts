// Schemas of the Deckhouse virtualization kinds (virtualization.deckhouse.io/v1alpha2), written from the
// CRDs of v1.10.2 (VirtualMachineRestore: v1.8.4, its last release) and reference/deckhouse-api.md.
import { isDeepStrictEqual } from "node:util";
import { has, size, type Schema } from "./schema";

const string: Schema = { type: "string" };
const name: Schema = { type: "string", minLength: 1 }; // minLength on names since v1.4.0
const boolean: Schema = { type: "boolean" };
const generation: Schema = { type: "integer" };
const quantity =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";

/** metav1.Condition, as every Deckhouse status carries it. */
const conditions: Schema = {
  type: "array",
  items: {
    type: "object",
    required: ["lastTransitionTime", "message", "reason", "status", "type"],
    properties: {
      lastTransitionTime: { type: "string", format: "date-time" },
      message: { type: "string", maxLength: 32768 },
      observedGeneration: { type: "integer", minimum: 0 },
      reason: {
        type: "string",
        minLength: 1,
        maxLength: 1024,
        pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      },
      status: { type: "string", enum: ["True", "False", "Unknown"] },
      type: {
        type: "string",
        maxLength: 316,
        pattern:
          "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
      },
    },
  },
};

const snapshotPhase: Schema = {
  type: "string",
  enum: ["Pending", "InProgress", "Ready", "Failed", "Terminating"],
};
const operationMode: Schema = { type: "string", enum: ["DryRun", "Strict", "BestEffort"] };

/** `{from: {kind?, name}, to}`: VirtualMachineRestore's nameReplacements, VMOP/VMSOP's nameReplacement. */
const nameReplacement: Schema = {
  type: "object",
  required: ["from", "to"],
  properties: {
    from: { type: "object", required: ["name"], properties: { kind: name, name } },
    to: name,
  },
};

/** The per-object outcome of a Restore/Clone/CreateVirtualMachine operation. */
const operationResources: Schema = {
  type: "array",
  items: {
    type: "object",
    required: ["apiVersion", "kind", "message", "name", "status"],
    properties: {
      apiVersion: string,
      kind: string,
      message: string,
      name: string,
      status: { type: "string", enum: ["InProgress", "Completed", "Failed"] },
    },
  },
};

const betweenOneAnd59 = (s: string) => size(s) >= 1 && size(s) <= 59;

/** VMOP `clone` and VMSOP `createVirtualMachine`: a mode and a way to name the new objects. */
const cloneSpec: Schema = {
  type: "object",
  required: ["mode"],
  properties: {
    mode: operationMode,
    customization: {
      type: "object",
      properties: { namePrefix: string, nameSuffix: string },
      rules: [
        {
          rule: "!has(self.namePrefix) || (size(self.namePrefix) >= 1 && size(self.namePrefix) <= 59)",
          message: "namePrefix length must be between 1 and 59 characters if set",
          holds: (c) => !has(c, "namePrefix") || betweenOneAnd59(c.namePrefix),
        },
        {
          rule: "!has(self.nameSuffix) || (size(self.nameSuffix) >= 1 && size(self.nameSuffix) <= 59)",
          message: "nameSuffix length must be between 1 and 59 characters if set",
          holds: (c) => !has(c, "nameSuffix") || betweenOneAnd59(c.nameSuffix),
        },
      ],
    },
    nameReplacement: {
      type: "array",
      items: nameReplacement,
      rules: [
        {
          rule: "self.all(nr, has(nr.to) && size(nr.to) >= 1 && size(nr.to) <= 59)",
          message: "Each nameReplacement.to must be between 1 and 59 characters",
          holds: (list: any[]) => list.every((nr) => has(nr, "to") && betweenOneAnd59(nr.to)),
        },
      ],
    },
  },
  rules: [
    {
      rule:
        "(has(self.customization) && ((has(self.customization.namePrefix) && size(self.customization.namePrefix) > 0) || " +
        "(has(self.customization.nameSuffix) && size(self.customization.nameSuffix) > 0))) || " +
        "(has(self.nameReplacement) && size(self.nameReplacement) > 0)",
      message:
        "At least one of customization.namePrefix, customization.nameSuffix, or nameReplacement must be set",
      holds: (c) =>
        (has(c, "customization") &&
          ((has(c.customization, "namePrefix") && size(c.customization.namePrefix) > 0) ||
            (has(c.customization, "nameSuffix") && size(c.customization.nameSuffix) > 0))) ||
        (has(c, "nameReplacement") && c.nameReplacement.length > 0),
    },
  ],
};

const specIsImmutable = {
  rule: "self == oldSelf",
  message: ".spec is immutable",
  holds: (self: unknown, oldSelf: unknown) => isDeepStrictEqual(self, oldSelf),
};

export const virtualDiskSnapshotSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["virtualDiskName"],
      properties: {
        virtualDiskName: name,
        requiredConsistency: { type: "boolean", default: true },
      },
    },
    status: {
      type: "object",
      properties: {
        conditions,
        volumeSnapshotName: string,
        consistent: boolean, // set only when true (reference §2.2)
        phase: snapshotPhase,
        observedGeneration: generation,
      },
    },
  },
};

export const virtualMachineSnapshotSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      // Required but defaulted: an omitted keepIPAddress/requiredConsistency is filled in before validation.
      required: ["keepIPAddress", "requiredConsistency", "virtualMachineName"],
      properties: {
        keepIPAddress: { type: "string", enum: ["Always", "Never"], default: "Always" },
        requiredConsistency: { type: "boolean", default: true },
        virtualMachineName: name,
      },
    },
    status: {
      type: "object",
      required: ["phase"],
      properties: {
        conditions,
        consistent: boolean,
        observedGeneration: generation,
        phase: snapshotPhase,
        resources: {
          type: "array",
          items: { type: "object", properties: { apiVersion: string, kind: string, name: string } },
        },
        virtualDiskSnapshotNames: { type: "array", items: string },
        virtualMachineSnapshotSecretName: string,
      },
    },
  },
};

/** v1.8.4, the last release that serves it (removed in v1.9.0). */
export const virtualMachineRestoreSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["virtualMachineSnapshotName"],
      properties: {
        nameReplacements: { type: "array", items: nameReplacement },
        restoreMode: { type: "string", enum: ["Safe", "Forced"], default: "Safe" }, // since v0.23.0
        virtualMachineSnapshotName: name,
      },
    },
    status: {
      type: "object",
      required: ["phase"],
      properties: { conditions, observedGeneration: generation, phase: snapshotPhase },
    },
  },
};

const vmopPhasesV110 = ["Pending", "InProgress", "Completed", "Failed", "Terminating", "Superseded"] as const;

const virtualMachineOperationSchemaWith = (phases: readonly string[]): Schema => ({
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["type", "virtualMachineName"],
      properties: {
        clone: cloneSpec,
        force: boolean,
        migrate: {
          type: "object",
          properties: { nodeSelector: { type: "object", additionalProperties: string } },
        },
        restore: {
          type: "object",
          required: ["mode", "virtualMachineSnapshotName"],
          properties: { mode: operationMode, virtualMachineSnapshotName: name },
        },
        type: { type: "string", enum: ["Restart", "Start", "Stop", "Migrate", "Evict", "Restore", "Clone"] },
        virtualMachineName: name,
      },
      rules: [
        specIsImmutable,
        {
          rule: "self.type == 'Start' ? !has(self.force) || !self.force : true",
          message: "The `Start` operation cannot be performed forcibly.",
          holds: (s) => (s.type === "Start" ? !has(s, "force") || !s.force : true),
        },
        {
          rule: "self.type == 'Restore' ? has(self.restore) : true",
          message: "Restore requires restore field.",
          holds: (s) => (s.type === "Restore" ? has(s, "restore") : true),
        },
        {
          rule: "self.type == 'Clone' ? has(self.clone) : true",
          message: "Clone requires clone field.",
          holds: (s) => (s.type === "Clone" ? has(s, "clone") : true),
        },
        {
          rule: "!(has(self.migrate)) || self.type == 'Migrate'",
          message: "spec.migrate can only be set when spec.type is 'Migrate'",
          holds: (s) => !has(s, "migrate") || s.type === "Migrate",
        },
      ],
    },
    status: {
      type: "object",
      required: ["phase"],
      properties: {
        conditions,
        observedGeneration: generation,
        phase: { type: "string", enum: phases },
        progress: string,
        resources: operationResources,
      },
    },
  },
});

/** v1.10: phase `Superseded` exists. */
export const virtualMachineOperationSchema = virtualMachineOperationSchemaWith(vmopPhasesV110);
/** v1.1–v1.9: the same without `Superseded` (added in v1.10.0). */
export const virtualMachineOperationSchemaV18 = virtualMachineOperationSchemaWith(
  vmopPhasesV110.filter((p) => p !== "Superseded"),
);

/** Since v1.2.0. */
export const virtualMachineSnapshotOperationSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["type", "virtualMachineSnapshotName"],
      properties: {
        createVirtualMachine: cloneSpec,
        type: { type: "string", enum: ["CreateVirtualMachine"] },
        virtualMachineSnapshotName: name,
      },
      rules: [
        specIsImmutable,
        {
          // Upstream bug kept: the type is never 'CreateVirtualMachineName', so this never fails.
          rule: "self.type == 'CreateVirtualMachineName' ? has(self.createVirtualMachine) : true",
          message: "CreateVirtualMachineName requires clone field.",
          holds: (s) => (s.type === "CreateVirtualMachineName" ? has(s, "createVirtualMachine") : true),
        },
      ],
    },
    status: {
      type: "object",
      required: ["phase"],
      properties: {
        conditions,
        observedGeneration: generation,
        phase: { type: "string", enum: ["Pending", "InProgress", "Completed", "Failed", "Terminating"] },
        resources: operationResources,
      },
    },
  },
};

const dataSourceRule = (type: string, needs: string | undefined, excludes: string[], message: string) => ({
  rule:
    `self.type == '${type}' ? ` +
    [...(needs ? [`has(self.${needs})`] : []), ...excludes.map((f) => `!has(self.${f})`)].join(" && ") +
    " : true",
  message,
  holds: (d: any) => d.type !== type || ((!needs || has(d, needs)) && excludes.every((f) => !has(d, f))),
});

/** A stand-in: every spec field; the source details (http, containerImage, upload) and status are loose. */
export const virtualDiskSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      properties: {
        dataSource: {
          type: "object",
          properties: {
            type: { type: "string", enum: ["HTTP", "ContainerImage", "ObjectRef", "Upload"] },
            objectRef: {
              type: "object",
              required: ["kind", "name"],
              properties: {
                kind: {
                  type: "string",
                  enum: ["ClusterVirtualImage", "VirtualImage", "VirtualDiskSnapshot"],
                },
                name,
              },
            },
            http: {
              type: "object",
              required: ["url"],
              properties: { url: string },
              preserveUnknownFields: true,
            },
            containerImage: {
              type: "object",
              required: ["image"],
              properties: { image: string },
              preserveUnknownFields: true,
            },
            upload: { type: "object", preserveUnknownFields: true },
          },
          rules: [
            dataSourceRule(
              "HTTP",
              "http",
              ["containerImage", "objectRef", "upload"],
              "HTTP requires http and cannot have ContainerImage, ObjectRef or Upload.",
            ),
            dataSourceRule(
              "ContainerImage",
              "containerImage",
              ["http", "objectRef", "upload"],
              "ContainerImage requires containerImage and cannot have HTTP, ObjectRef or Upload.",
            ),
            dataSourceRule(
              "ObjectRef",
              "objectRef",
              ["http", "containerImage", "upload"],
              "ObjectRef requires objectRef and cannot have HTTP, ContainerImage or Upload.",
            ),
            dataSourceRule(
              "Upload",
              undefined,
              ["http", "containerImage", "objectRef"],
              "Upload cannot have HTTP, ContainerImage or ObjectRef.",
            ),
          ],
        },
        persistentVolumeClaim: {
          type: "object",
          properties: { size: { intOrString: true, pattern: quantity }, storageClassName: string },
        },
      },
    },
    status: {
      type: "object",
      preserveUnknownFields: true,
      properties: {
        attachedToVirtualMachines: {
          type: "array",
          items: { type: "object", properties: { mounted: boolean, name: string } },
        },
        capacity: string,
        conditions,
        observedGeneration: generation,
        phase: {
          type: "string",
          enum: [
            "Pending",
            "Provisioning",
            "WaitForUserUpload",
            "WaitForFirstConsumer",
            "Ready",
            "Resizing",
            "Failed",
            "PVCLost",
            "Exporting",
            "Terminating",
            "Migrating",
          ],
        },
        progress: string,
        sourceUID: string,
        storageClassName: string,
        target: { type: "object", properties: { persistentVolumeClaimName: string } },
      },
    },
  },
};

const vmPhase: Schema = {
  type: "string",
  enum: [
    "Pending",
    "Running",
    "Degraded",
    "Terminating",
    "Stopped",
    "Stopping",
    "Starting",
    "Migrating",
    "Pause",
  ],
};
const blockDeviceKind: Schema = {
  type: "string",
  enum: ["ClusterVirtualImage", "VirtualImage", "VirtualDisk"],
};

/** A stand-in: the required spec fields, disks, run policy and IP address; the rest of spec and status is loose. */
export const virtualMachineSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      preserveUnknownFields: true,
      required: ["virtualMachineClassName", "cpu", "memory", "blockDeviceRefs"],
      properties: {
        virtualMachineClassName: name,
        cpu: {
          type: "object",
          required: ["cores"],
          preserveUnknownFields: true,
          properties: {
            cores: { type: "integer", minimum: 1 },
            coreFraction: { type: "string", pattern: "^(Auto|(100|[1-9][0-9]?)%)$" },
          },
        },
        memory: {
          type: "object",
          required: ["size"],
          properties: { size: { type: "string", pattern: quantity } },
        },
        blockDeviceRefs: {
          type: "array",
          minItems: 1,
          maxItems: 16,
          items: {
            type: "object",
            properties: { kind: blockDeviceKind, name, bootOrder: { type: "integer", minimum: 1 } },
          },
        },
        runPolicy: {
          type: "string",
          enum: ["AlwaysOn", "AlwaysOff", "Manual", "AlwaysOnUnlessStoppedManually"],
          default: "AlwaysOnUnlessStoppedManually",
        },
        virtualMachineIPAddressName: name,
      },
    },
    status: {
      type: "object",
      preserveUnknownFields: true,
      properties: {
        blockDeviceRefs: {
          type: "array",
          items: {
            type: "object",
            required: ["kind", "name", "size", "attached"],
            preserveUnknownFields: true,
            properties: { attached: boolean, kind: blockDeviceKind, name: string, size: string },
          },
        },
        conditions,
        ipAddress: string,
        nodeName: string,
        observedGeneration: generation,
        phase: vmPhase,
        virtualMachineIPAddressName: string,
      },
    },
  },
};

/** The status of an IP or MAC address claim. */
const addressStatus: Schema = {
  type: "object",
  properties: {
    conditions,
    address: string,
    virtualMachineName: string,
    phase: { type: "string", enum: ["Pending", "Bound", "Attached"] },
    observedGeneration: generation,
  },
};

export const virtualMachineIPAddressSchema: Schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["type"],
      properties: { type: { type: "string", enum: ["Auto", "Static"] }, staticIP: string },
    },
    status: addressStatus,
  },
};

/** From the v1.10 CRD `crds/virtualmachinemacaddresses.yaml` (not among the shared upstream copies). */
export const virtualMachineMACAddressSchema: Schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: { address: { type: "string", pattern: "^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$" } },
    },
    status: addressStatus,
  },
};

export const virtualMachineBlockDeviceAttachmentSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["blockDeviceRef", "virtualMachineName"],
      properties: {
        blockDeviceRef: {
          type: "object",
          properties: {
            kind: { type: "string", enum: ["VirtualDisk", "VirtualImage", "ClusterVirtualImage"] },
            name,
          },
        },
        virtualMachineName: name,
      },
    },
    status: {
      type: "object",
      properties: {
        conditions,
        observedGeneration: generation,
        phase: { type: "string", enum: ["Pending", "InProgress", "Attached", "Failed", "Terminating"] },
        virtualMachineName: string,
      },
    },
  },
};

const group = "virtualization.deckhouse.io";

/** Every schema above by `Kind.group` (the v1.10 one where versions differ). */
export const deckhouseSchemas: Record<string, Schema> = {
  [`VirtualDiskSnapshot.${group}`]: virtualDiskSnapshotSchema,
  [`VirtualMachineSnapshot.${group}`]: virtualMachineSnapshotSchema,
  [`VirtualMachineRestore.${group}`]: virtualMachineRestoreSchema,
  [`VirtualMachineOperation.${group}`]: virtualMachineOperationSchema,
  [`VirtualMachineSnapshotOperation.${group}`]: virtualMachineSnapshotOperationSchema,
  [`VirtualDisk.${group}`]: virtualDiskSchema,
  [`VirtualMachine.${group}`]: virtualMachineSchema,
  [`VirtualMachineIPAddress.${group}`]: virtualMachineIPAddressSchema,
  [`VirtualMachineMACAddress.${group}`]: virtualMachineMACAddressSchema,
  [`VirtualMachineBlockDeviceAttachment.${group}`]: virtualMachineBlockDeviceAttachmentSchema,
};
