import assert from "node:assert/strict";
import { PersistentVolumeClaim, VolumeSnapshot } from "../emulator/kinds/core";
import { ObjectStore, type KubeObject } from "../emulator/store";
import { startCsiSnapshotController } from "./csi";
import { KnobAnnotation } from "./knobs";
import { waitFor } from "./waitFor";

const ns = "default";

describe("CSI snapshot controller stand-in", () => {
  let store: ObjectStore;
  let csi: { stop(): void };
  const started: Array<{ stop(): void }> = [];
  const start = (opts?: Parameters<typeof startCsiSnapshotController>[1]) => {
    csi = startCsiSnapshotController(store, opts);
    started.push(csi);
  };
  beforeEach(() => (store = new ObjectStore()));
  afterEach(() => started.splice(0).forEach((c) => c.stop()));

  /** A claim as a storage provisioner leaves it: Bound (bound=false leaves it Pending). */
  const claim = (name: string, bound = true) => {
    const pvc = store.create(PersistentVolumeClaim, {
      metadata: { name, namespace: ns },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "8Gi" } } },
    });
    if (bound)
      store.update(PersistentVolumeClaim, { ...pvc, status: { phase: "Bound" } }, { subresource: "status" });
  };
  const snapshot = (name: string, pvc: string, annotations: Record<string, string> = {}) =>
    store.create(VolumeSnapshot, {
      metadata: { name, namespace: ns, annotations },
      spec: { source: { persistentVolumeClaimName: pvc } },
    });
  const until = (name: string, predicate: (vs: KubeObject | undefined) => boolean, timeoutMs?: number) =>
    waitFor(store, VolumeSnapshot, ns, name, predicate, timeoutMs) as Promise<KubeObject>;
  const readyToUse = (vs: KubeObject | undefined) => vs?.status?.readyToUse === true;

  it("binds a snapshot of a Bound claim, then makes it ready to use", async () => {
    start();
    claim("data");
    const created = snapshot("snap", "data");
    const seen: Array<[boolean, string | undefined]> = [];
    const unsubscribe = store.subscribe((e) => {
      if (e.object.kind === "VolumeSnapshot" && e.object.status) {
        seen.push([e.object.status.readyToUse, e.object.status.boundVolumeSnapshotContentName]);
      }
    });
    const vs = await until("snap", readyToUse);
    unsubscribe();
    assert.deepEqual(seen, [
      [false, `snapcontent-${created.metadata.uid}`],
      [true, `snapcontent-${created.metadata.uid}`],
    ]);
    assert.equal(vs.status.restoreSize, "8Gi");
    assert.match(vs.status.creationTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(vs.status.error, undefined);
  });

  it("reports a missing claim as an error and retries when the claim appears", async () => {
    start();
    snapshot("snap", "later");
    const failing = await until("snap", (vs) => Boolean(vs?.status?.error));
    assert.equal(failing.status.readyToUse, false);
    assert.equal(
      failing.status.error.message,
      'Failed to create snapshot: failed to get input parameters to create snapshot snap: persistentvolumeclaims "later" not found',
    );
    claim("later");
    const vs = await until("snap", readyToUse);
    assert.equal(vs.status.error, undefined);
  });

  it("does not snapshot a claim that is not Bound", async () => {
    start();
    claim("pending", false);
    snapshot("snap", "pending");
    const vs = await until("snap", (o) => Boolean(o?.status?.error));
    assert.equal(
      vs.status.error.message,
      "Failed to create snapshot: the PVC pending is not yet bound to a PV, will not attempt to take a snapshot",
    );
  });

  it("sets status.error from the fail knob", async () => {
    start();
    claim("data");
    snapshot("snap", "data", {
      [KnobAnnotation.Fail]: "rpc error: code = Internal desc = backend unavailable",
    });
    const vs = await until("snap", (o) => Boolean(o?.status?.error));
    assert.deepEqual(
      [vs.status.readyToUse, vs.status.error.message],
      [false, "rpc error: code = Internal desc = backend unavailable"],
    );
  });

  it("never makes a snapshot ready with the hang knob", async () => {
    start();
    claim("data");
    snapshot("snap", "data", { [KnobAnnotation.Hang]: "true" });
    await until("snap", (o) => Boolean(o?.status?.boundVolumeSnapshotContentName));
    await assert.rejects(until("snap", readyToUse, 100), /condition not met/);
  });

  it("paces binding and readiness by the default delay", async () => {
    start({ phaseDelayMs: 40 });
    claim("data");
    const t0 = Date.now();
    snapshot("snap", "data");
    await until("snap", readyToUse);
    assert.ok(Date.now() - t0 >= 80, `ready after ${Date.now() - t0} ms`);
  });

  it("does nothing after stop()", async () => {
    start({ phaseDelayMs: 30 });
    claim("data");
    snapshot("snap", "data");
    csi.stop();
    await assert.rejects(
      until("snap", (o) => Boolean(o?.status), 100),
      /condition not met/,
    );
  });
});
