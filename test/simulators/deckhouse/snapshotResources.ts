// The objects a VirtualMachineSnapshot restores (VM, address, disks, attachments, provisioning Secret), their
// renaming (nameReplacement, namePrefix/nameSuffix) and the per-object results operations report.
import { Secret, VolumeSnapshot } from "../../emulator/kinds/core";
import {
  VirtualDisk,
  VirtualDiskSnapshot,
  VirtualMachine,
  VirtualMachineBlockDeviceAttachment,
  VirtualMachineIPAddress,
} from "../../emulator/kinds/deckhouse";
import type { KubeObject, ResourceType } from "../../emulator/store";
import type { DeckhouseContext } from "./context";
import { Annotation } from "./names";
import { readSnapshotSecret } from "./snapshotSecret";

export interface NameReplacement {
  from: { kind?: string; name: string };
  to: string;
}

export interface RestoredObject {
  type: ResourceType;
  object: KubeObject;
}

/** One entry of an operation's `status.resources`. */
export interface ResourceResult {
  apiVersion: string;
  kind: string;
  name: string;
  status: "InProgress" | "Completed" | "Failed";
  message: string;
}

const typesByKind = new Map<string, ResourceType>(
  [Secret, VirtualDisk, VirtualMachine, VirtualMachineBlockDeviceAttachment, VirtualMachineIPAddress].map(
    (t) => [t.kind, t],
  ),
);

/** Reads a Ready snapshot back into objects to create, or says what is missing (a Secret, a disk snapshot). */
export function objectsFromSnapshot(
  ctx: DeckhouseContext,
  snapshot: KubeObject,
): { objects: RestoredObject[] } | { missing: string } {
  const { store } = ctx;
  const { namespace } = snapshot.metadata;
  const secretName = snapshot.status?.virtualMachineSnapshotSecretName;
  const secret = secretName && store.get(Secret, namespace, secretName);
  if (!secret) return { missing: `the restorer secret "${secretName ?? ""}" is not found` };
  const content = readSnapshotSecret(secret);
  const disks: KubeObject[] = [];
  for (const childName of snapshot.status?.virtualDiskSnapshotNames ?? []) {
    const child = store.get(VirtualDiskSnapshot, namespace, childName);
    if (!child) return { missing: `the virtual disk snapshot "${childName}" not found` };
    disks.push(diskFrom(ctx, child));
  }
  const own = (obj: KubeObject | undefined): RestoredObject[] =>
    obj
      ? [
          {
            type: typesByKind.get(obj.kind!)!,
            object: { ...structuredClone(obj), metadata: { ...obj.metadata, namespace } },
          },
        ]
      : [];
  return {
    // The platform's order, which decides which conflict is reported first.
    objects: [
      ...own(content.vmip),
      ...own(content.vm),
      ...disks.flatMap(own),
      ...content.vmbdas.flatMap(own),
      ...own(content.provisioner),
    ],
  };
}

/** The disk a child VirtualDiskSnapshot brings back, described from its VolumeSnapshot's annotations. */
function diskFrom(ctx: DeckhouseContext, child: KubeObject): KubeObject {
  const vs = ctx.store.get(VolumeSnapshot, child.metadata.namespace, child.status?.volumeSnapshotName);
  const a = vs?.metadata.annotations ?? {};
  const parse = (json: string | undefined) => (json ? (JSON.parse(json) as Record<string, string>) : {});
  const labels = parse(a[Annotation.DiskOriginalLabels]);
  const annotations = parse(a[Annotation.DiskOriginalAnnotations]);
  const size = a[Annotation.DiskOriginalSize] || vs?.status?.restoreSize;
  const storageClassName = a[Annotation.DiskOriginalStorageClass];
  return {
    apiVersion: `${VirtualDisk.group}/${VirtualDisk.version}`,
    kind: VirtualDisk.kind,
    metadata: {
      name: child.spec.virtualDiskName,
      ...(Object.keys(labels).length ? { labels } : {}),
      ...(Object.keys(annotations).length ? { annotations } : {}),
    },
    spec: {
      persistentVolumeClaim: { ...(size ? { size } : {}), ...(storageClassName ? { storageClassName } : {}) },
      dataSource: {
        type: "ObjectRef",
        objectRef: { kind: "VirtualDiskSnapshot", name: child.metadata.name },
      },
    },
  };
}

/** Renames every object and every reference between them: a matching replacement first, then prefix/suffix. */
export function renameObjects(
  objects: RestoredObject[],
  rules: NameReplacement[] = [],
  customization: { namePrefix?: string; nameSuffix?: string } = {},
): void {
  const rename = (kind: string, name: string | undefined) => {
    if (!name) return name;
    const rule = rules.find((r) => (!r.from.kind || r.from.kind === kind) && r.from.name === name);
    return `${customization.namePrefix ?? ""}${rule ? rule.to : name}${customization.nameSuffix ?? ""}`;
  };
  for (const { type, object } of objects) {
    object.metadata.name = rename(type.kind, object.metadata.name);
    const spec = object.spec ?? {};
    if (type === VirtualMachine) {
      if (spec.virtualMachineIPAddressName) {
        spec.virtualMachineIPAddressName = rename(
          "VirtualMachineIPAddress",
          spec.virtualMachineIPAddressName,
        );
      }
      const userData = spec.provisioning?.userDataRef;
      if (userData && (userData.kind ?? "Secret") === "Secret")
        userData.name = rename("Secret", userData.name);
      for (const ref of spec.blockDeviceRefs ?? []) {
        if (ref.kind === "VirtualDisk") ref.name = rename("VirtualDisk", ref.name);
      }
    }
    if (type === VirtualMachineBlockDeviceAttachment) {
      spec.virtualMachineName = rename("VirtualMachine", spec.virtualMachineName);
      if (spec.blockDeviceRef?.kind === "VirtualDisk") {
        spec.blockDeviceRef.name = rename("VirtualDisk", spec.blockDeviceRef.name);
      }
    }
  }
}

/** Stamps the objects with the annotation naming who creates them (a restore's or an operation's UID). */
export function markCreatedBy(objects: RestoredObject[], annotation: string, uid: string): void {
  for (const { object } of objects) {
    object.metadata.annotations = { ...object.metadata.annotations, [annotation]: uid };
  }
}

export const existingOf = (ctx: DeckhouseContext, { type, object }: RestoredObject) =>
  ctx.store.get(type, object.metadata.namespace, object.metadata.name!);

export const createdBy = (obj: KubeObject | undefined, annotation: string, uid: string) =>
  obj?.metadata.annotations?.[annotation] === uid;

/** The restored VM's name (after renaming). */
export const restoredMachineName = (objects: RestoredObject[]) =>
  objects.find((o) => o.type === VirtualMachine)?.object.metadata.name ?? "";

/** Creates the object; status and server fields never come from the snapshot. */
export function createRestored(ctx: DeckhouseContext, { type, object }: RestoredObject): KubeObject {
  const { status: _status, ...rest } = object;
  return ctx.store.create(type, rest);
}

// The platform reports only the version part of the API version here (v1alpha2, v1).
export const resultOf = (
  { type, object }: RestoredObject,
  status: ResourceResult["status"],
  message: string,
) => ({
  apiVersion: type.version,
  kind: type.kind,
  name: object.metadata.name!,
  status,
  message,
});

/** Addresses other than `except` that hold `ip` (leased or requested as static). */
export const addressesHolding = (ctx: DeckhouseContext, namespace: string, ip: string, except: string) =>
  ctx.store.list(
    VirtualMachineIPAddress,
    namespace,
    (a) => a.metadata.name !== except && (a.status?.address === ip || a.spec?.staticIP === ip),
  ).items;

export const sameData = (a: KubeObject, b: KubeObject) =>
  JSON.stringify(a.data ?? {}) === JSON.stringify(b.data ?? {});
