// Core and CSI kinds the platforms build on. Secret and PersistentVolumeClaim are built-in types: their
// checks are the apiserver's own (worded as it words them); VolumeSnapshot is a CRD with CEL rules.
import type { ResourceType } from "../store";
import { admission } from "./admission";
import { invalidObject, requiredValue, unsupportedValue, type FieldError } from "./field-errors";
import { has, type Schema } from "./schema";

const string: Schema = { type: "string" };
const stringMap: Schema = { type: "object", additionalProperties: string };
const loose: Schema = { type: "object", preserveUnknownFields: true };

export const secretSchema: Schema = {
  type: "object",
  properties: {
    data: stringMap,
    stringData: stringMap,
    type: { type: "string", default: "Opaque" },
    immutable: { type: "boolean" },
  },
};

const secretAdmission = admission({ kind: "Secret", group: "" }, secretSchema);

export const Secret: ResourceType = {
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  namespaced: true,
  statusSubresource: false,
  ...secretAdmission,
  default(obj) {
    secretAdmission.default(obj);
    // stringData is write-only: merged into data (base64) on every write, never stored.
    if (obj.stringData) {
      const encoded = Object.entries(obj.stringData as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, "utf8").toString("base64"),
      ]);
      obj.data = { ...obj.data, ...Object.fromEntries(encoded) };
      delete obj.stringData;
    }
  },
};

export const persistentVolumeClaimSchema: Schema = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      preserveUnknownFields: true,
      properties: {
        accessModes: { type: "array", items: string },
        resources: loose,
        storageClassName: string,
        volumeMode: { type: "string", default: "Filesystem" },
        volumeName: string,
      },
    },
    status: { type: "object", preserveUnknownFields: true, properties: { phase: string } },
  },
};

const accessModes = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

/** The claim checks of ValidatePersistentVolumeClaimSpec that a stand-in claim can trip over. */
function claimErrors(spec: any): FieldError[] {
  const errors: FieldError[] = [];
  const modes: string[] = spec?.accessModes ?? [];
  if (!modes.length) errors.push(requiredValue("spec.accessModes", "at least 1 access mode is required"));
  for (const mode of modes) {
    if (!accessModes.includes(mode)) errors.push(unsupportedValue("spec.accessModes", mode, accessModes));
  }
  if (spec?.resources?.requests?.storage === undefined) errors.push(requiredValue("spec.resources[storage]"));
  if (spec?.volumeMode !== undefined && !["Block", "Filesystem"].includes(spec.volumeMode)) {
    errors.push(unsupportedValue("spec.volumeMode", spec.volumeMode, ["Block", "Filesystem"]));
  }
  return errors;
}

const claimAdmission = admission({ kind: "PersistentVolumeClaim", group: "" }, persistentVolumeClaimSchema);

/** A loose stand-in: the spec fields the snapshot flows read, the rest kept as sent. */
export const PersistentVolumeClaim: ResourceType = {
  group: "",
  version: "v1",
  kind: "PersistentVolumeClaim",
  plural: "persistentvolumeclaims",
  shortNames: ["pvc"],
  namespaced: true,
  statusSubresource: true,
  ...claimAdmission,
  default(obj) {
    claimAdmission.default(obj);
    // SetDefaults_PersistentVolumeClaim: a new claim reads Pending until something binds it.
    if (!obj.status?.phase) obj.status = { ...obj.status, phase: "Pending" };
  },
  admit(obj, old, op) {
    const errors = claimErrors(obj.spec);
    if (errors.length)
      return invalidObject({ kind: "PersistentVolumeClaim", group: "" }, obj.metadata.name ?? "", errors);
    return claimAdmission.admit(obj, old, op);
  },
};

const immutable = (field: string) => ({
  rule: "self == oldSelf",
  message: `${field} is immutable`,
  holds: (self: unknown, oldSelf: unknown) => self === oldSelf,
});
const requiredOnceSet = (field: string) => ({
  rule: `!has(oldSelf.${field}) || has(self.${field})`,
  message: `${field} is required once set`,
  holds: (self: unknown, oldSelf: unknown) => !has(oldSelf, field) || has(self, field),
});

/** snapshot.storage.k8s.io/v1 as external-snapshotter v8 states it: CEL rules replace its old webhook. */
export const volumeSnapshotSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["source"],
      properties: {
        source: {
          type: "object",
          properties: {
            persistentVolumeClaimName: { ...string, rules: [immutable("persistentVolumeClaimName")] },
            volumeSnapshotContentName: { ...string, rules: [immutable("volumeSnapshotContentName")] },
          },
          rules: [
            requiredOnceSet("persistentVolumeClaimName"),
            requiredOnceSet("volumeSnapshotContentName"),
            {
              rule:
                "(has(self.volumeSnapshotContentName) && !has(self.persistentVolumeClaimName)) || " +
                "(!has(self.volumeSnapshotContentName) && has(self.persistentVolumeClaimName))",
              message: "exactly one of volumeSnapshotContentName and persistentVolumeClaimName must be set",
              holds: (s) => has(s, "volumeSnapshotContentName") !== has(s, "persistentVolumeClaimName"),
            },
          ],
        },
        volumeSnapshotClassName: {
          ...string,
          rules: [
            {
              rule: "size(self) > 0",
              message: "volumeSnapshotClassName must not be the empty string when set",
              holds: (s: string) => s.length > 0,
            },
          ],
        },
      },
    },
    status: {
      type: "object",
      properties: {
        boundVolumeSnapshotContentName: string,
        creationTime: { type: "string", format: "date-time" },
        error: {
          type: "object",
          properties: { message: string, time: { type: "string", format: "date-time" } },
        },
        readyToUse: { type: "boolean" },
        restoreSize: {
          intOrString: true,
          pattern:
            "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
        },
      },
    },
  },
};

export const VolumeSnapshot: ResourceType = {
  group: "snapshot.storage.k8s.io",
  version: "v1",
  kind: "VolumeSnapshot",
  plural: "volumesnapshots",
  shortNames: ["vs"],
  namespaced: true,
  statusSubresource: true,
  ...admission({ kind: "VolumeSnapshot", group: "snapshot.storage.k8s.io" }, volumeSnapshotSchema),
};

export const namespaceSchema: Schema = {
  type: "object",
  properties: {
    spec: { type: "object", properties: { finalizers: { type: "array", items: string } } },
    status: { type: "object", properties: { phase: string } },
  },
};

const namespaceAdmission = admission({ kind: "Namespace", group: "" }, namespaceSchema);

/** Cluster-scoped; the suites read its labels (a namespace dedicated to them). No lifecycle beyond Active. */
export const Namespace: ResourceType = {
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  shortNames: ["ns"],
  namespaced: false,
  statusSubresource: true,
  ...namespaceAdmission,
  default(obj) {
    namespaceAdmission.default(obj);
    if (!obj.status?.phase) obj.status = { ...obj.status, phase: "Active" };
  },
};

/** The core group's kinds, which every cluster serves. */
export const coreKinds: ResourceType[] = [Namespace, Secret, PersistentVolumeClaim];
