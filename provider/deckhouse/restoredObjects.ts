// The objects a restore brings back: their names (a snapshot's objects, renamed), and removing the VM and disks a
// restore created under new names once the restore resource is deleted (deleteRestoredResources).
import type { KindContext } from "../core/kind";
import { deleteObject, describe, getObject, type KubeObject, type ObjectRef } from "../kube/objects";
import { waitLimit } from "../kube/abort";
import { observe } from "../kube/watch";
import { deckhouseKind } from "./api";
import type { NameReplacement } from "./restoreApis";

export interface ObjectName {
  kind: string;
  name: string;
}

/** The kinds namePrefix/nameSuffix apply to (the CreateVirtualMachine CRD's own list). */
const CUSTOMIZED_KINDS = ["VirtualMachine", "VirtualDisk", "VirtualMachineBlockDeviceAttachment", "Secret"];

/**
 * Who created an object: Deckhouse annotates what a restore creates with the UID of the restore (≤ v1.8.x) or of
 * the operation.
 */
const CREATED_BY = ["virtualization.deckhouse.io/vmrestore", "virtualization.deckhouse.io/vmoprestore"];

const VIRTUAL_MACHINE = deckhouseKind("VirtualMachine", "virtualmachines");
const VIRTUAL_DISK = deckhouseKind("VirtualDisk", "virtualdisks");

export interface Renaming {
  nameReplacements?: NameReplacement[];
  namePrefix?: string;
  nameSuffix?: string;
}

export const restoresUnderNewNames = (r: Renaming) =>
  !!(r.nameReplacements?.length || r.namePrefix || r.nameSuffix);

/** An object's name after the restore: the first matching replacement, then the prefix and suffix. */
export function renamed(o: ObjectName, r: Renaming): string {
  const rule = r.nameReplacements?.find(
    (n) => (!n.from.kind || n.from.kind === o.kind) && n.from.name === o.name,
  );
  const name = rule ? rule.to : o.name;
  return CUSTOMIZED_KINDS.includes(o.kind) ? `${r.namePrefix ?? ""}${name}${r.nameSuffix ?? ""}` : name;
}

/** The objects a Ready VirtualMachineSnapshot holds (status.resources, which snapshots before v0.18 lack). */
export function objectsOf(snapshot: KubeObject): ObjectName[] {
  const listed: ObjectName[] = (snapshot.status?.resources ?? []).map((r: any) => ({
    kind: r.kind,
    name: r.name,
  }));
  if (listed.length) return listed;
  // Child disk snapshots are named <disk>-<snapshot uid>.
  const suffix = `-${snapshot.metadata.uid}`;
  return [
    { kind: "VirtualMachine", name: snapshot.spec?.virtualMachineName },
    ...(snapshot.status?.virtualDiskSnapshotNames ?? []).map((n: string) => ({
      kind: "VirtualDisk",
      name: n.endsWith(suffix) ? n.slice(0, -suffix.length) : n,
    })),
  ];
}

/** VirtualMachineRestore has no prefix or suffix: spell them out as one replacement per object. */
export function spelledOut(objects: ObjectName[], r: Renaming): NameReplacement[] {
  if (!r.namePrefix && !r.nameSuffix) return r.nameReplacements ?? [];
  const each = objects
    .map((o) => ({ from: { kind: o.kind, name: o.name }, to: renamed(o, r) }))
    .filter((n) => n.to !== n.from.name);
  // The user's own rules still apply to objects the snapshot does not list.
  return [...each, ...(r.nameReplacements ?? [])];
}

export interface CreatedBy {
  /** The UID of the restore or operation. */
  uid: string;
  /** When it was created: an object older than this existed before the restore. */
  creationTimestamp: string;
}

const createdByRestore = (o: KubeObject, by: CreatedBy) =>
  CREATED_BY.some((a) => o.metadata.annotations?.[a] === by.uid) &&
  Date.parse(o.metadata.creationTimestamp ?? "") >= Date.parse(by.creationTimestamp);

/**
 * Deletes the VM and disks that the restore created, and waits until they are gone. An object under one of
 * those names that the restore did not create (by its annotation and age) is left alone and reported.
 */
export async function deleteCreatedObjects(
  ctx: KindContext,
  names: { virtualMachineName: string | null; virtualDiskNames: string[] },
  by: CreatedBy,
  timeoutSeconds: number,
): Promise<void> {
  const refs: ObjectRef[] = [
    ...(names.virtualMachineName ? [{ api: VIRTUAL_MACHINE, name: names.virtualMachineName }] : []),
    ...names.virtualDiskNames.map((name) => ({ api: VIRTUAL_DISK, name })),
  ].map((r) => ({ ...r, namespace: ctx.namespace }));
  const deleting: { ref: ObjectRef; object: KubeObject }[] = [];
  for (const ref of refs) {
    const object = await getObject(ctx.cluster, ref, ctx.signal);
    if (!object) continue;
    if (!createdByRestore(object, by)) {
      ctx.say(`${describe(ref)} was not created by this restore; leaving it in place`);
      continue;
    }
    const left = await deleteObject(ctx.cluster, ref, ctx.signal);
    ctx.say(`deleting ${describe(ref)}, which this restore created`);
    if (left) deleting.push({ ref, object: left });
  }
  if (!deleting.length) return;
  const timeout = waitLimit(timeoutSeconds * 1000, ctx.signal);
  const last = new Map(deleting.map((d) => [d.ref, d.object]));
  try {
    await Promise.all(
      deleting.map(({ ref, object }) =>
        observe(
          { cluster: ctx.cluster, ...ref },
          object,
          (o) => {
            if (o) return void last.set(ref, o);
            last.delete(ref);
            return true;
          },
          timeout.signal,
        ),
      ),
    );
  } catch (e) {
    if (!timeout.timedOut) throw e;
    const still = [...last].map(
      ([ref, o]) => `${describe(ref)} (finalizers: ${(o.metadata.finalizers ?? []).join(", ") || "none"})`,
    );
    throw new Error(
      `the objects this restore created are still being deleted after ${timeoutSeconds}s: ${still.join("; ")}. ` +
        `Their controllers have not finished; run "pulumi destroy" again to keep waiting (raise deleteTimeoutSeconds to wait longer).`,
    );
  } finally {
    timeout.release();
  }
  ctx.say("the VM and disks this restore created are gone");
}
