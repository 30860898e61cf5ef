// Schemas of the KubeVirt kinds, written from the snapshot.kubevirt.io CRDs of v1.9.0 (one schema, from the
// v1beta1 types, serves both v1alpha1 and v1beta1) and reference/kubevirt-api.md.
import type { Schema } from "./schema";

const string: Schema = { type: "string" };
const boolean: Schema = { type: "boolean" };
const time: Schema = { type: "string", format: "date-time" };
const stringList: Schema = { type: "array", items: string };
const stringMap: Schema = { type: "object", additionalProperties: string };
const loose: Schema = { type: "object", preserveUnknownFields: true };

/** KubeVirt's own condition type (no metav1.Condition constraints). */
const conditions: Schema = {
  type: "array",
  items: {
    type: "object",
    required: ["status", "type"],
    properties: {
      lastProbeTime: { ...time, nullable: true },
      lastTransitionTime: { ...time, nullable: true },
      message: string,
      reason: string,
      status: string,
      type: string,
    },
  },
};

const error: Schema = { type: "object", properties: { message: string, time } };

/** A TypedLocalObjectReference: apiGroup is optional in the schema, required by the webhooks. */
const typedReference: Schema = {
  type: "object",
  required: ["kind", "name"],
  properties: { apiGroup: string, kind: string, name: string },
};

export const virtualMachineSnapshotSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["source"],
      properties: {
        deletionPolicy: string, // no enum: nil is Delete, anything else behaves as Retain
        failureDeadline: string, // a Go duration, checked by the webhook's decoding
        source: typedReference,
      },
    },
    status: {
      type: "object",
      properties: {
        conditions,
        creationTime: { ...time, nullable: true },
        error,
        indications: stringList,
        phase: string,
        readyToUse: boolean,
        snapshotVolumes: {
          type: "object",
          properties: { excludedVolumes: stringList, includedVolumes: stringList },
        },
        sourceIndications: {
          type: "array",
          items: {
            type: "object",
            required: ["indication", "message"],
            properties: { indication: string, message: string },
          },
        },
        sourceUID: string,
        virtualMachineSnapshotContentName: string,
      },
    },
  },
};

/** The embedded VirtualMachine and PVC copies are loose (their full schemas are the bulk of the CRD). */
export const virtualMachineSnapshotContentSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["source"],
      properties: {
        source: { type: "object", properties: { virtualMachine: loose } },
        virtualMachineSnapshotName: string,
        volumeBackups: {
          type: "array",
          items: {
            type: "object",
            required: ["persistentVolumeClaim", "volumeName"],
            properties: { persistentVolumeClaim: loose, volumeName: string, volumeSnapshotName: string },
          },
        },
      },
    },
    status: {
      type: "object",
      properties: {
        creationTime: { ...time, nullable: true },
        error,
        readyToUse: boolean,
        volumeSnapshotStatus: {
          type: "array",
          items: {
            type: "object",
            required: ["volumeSnapshotName"],
            properties: {
              creationTime: { ...time, nullable: true },
              error,
              readyToUse: boolean,
              volumeSnapshotName: string,
            },
          },
        },
      },
    },
  },
};

export const virtualMachineRestoreSchema: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["target", "virtualMachineSnapshotName"],
      properties: {
        patches: stringList,
        target: typedReference,
        // v1.9.0 added the enum and default; v1.5–v1.8 had a plain string.
        targetReadinessPolicy: {
          type: "string",
          enum: ["StopTarget", "WaitGracePeriod", "FailImmediate", "WaitEventually"],
          default: "WaitGracePeriod",
        },
        virtualMachineSnapshotName: string,
        volumeOwnershipPolicy: string, // values checked by the webhook
        volumeRestoreOverrides: {
          type: "array",
          items: {
            type: "object",
            properties: {
              annotations: stringMap,
              labels: stringMap,
              restoreName: string,
              volumeName: string,
            },
          },
        },
        volumeRestorePolicy: string, // values checked by the webhook
      },
    },
    status: {
      type: "object",
      properties: {
        complete: boolean,
        conditions,
        deletedDataVolumes: stringList,
        restoreTime: time,
        restores: {
          type: "array",
          items: {
            type: "object",
            required: ["persistentVolumeClaim", "volumeName", "volumeSnapshotName"],
            properties: {
              dataVolumeName: string,
              persistentVolumeClaim: string,
              volumeName: string,
              volumeSnapshotName: string,
            },
          },
        },
      },
    },
  },
};

/** kubevirt.io VirtualMachine / VirtualMachineInstance and cdi.kubevirt.io DataVolume: loose stand-ins. */
export const looseWorkloadSchema: Schema = {
  type: "object",
  properties: { spec: loose, status: loose },
};

/** Every schema above by `Kind.group`. */
export const kubevirtSchemas: Record<string, Schema> = {
  "VirtualMachineSnapshot.snapshot.kubevirt.io": virtualMachineSnapshotSchema,
  "VirtualMachineSnapshotContent.snapshot.kubevirt.io": virtualMachineSnapshotContentSchema,
  "VirtualMachineRestore.snapshot.kubevirt.io": virtualMachineRestoreSchema,
  "VirtualMachine.kubevirt.io": looseWorkloadSchema,
  "VirtualMachineInstance.kubevirt.io": looseWorkloadSchema,
  "DataVolume.cdi.kubevirt.io": looseWorkloadSchema,
};
