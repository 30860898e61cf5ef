// API failures as the user meets them: retried when a retry can help, otherwise one sentence that names
// the object, the HTTP status and what to do.
import assert from "node:assert/strict";
import { connect, disconnectAll, type Cluster } from "../../provider/kube/cluster";
import {
  createObject,
  forgetDiscovery,
  getObject,
  type ApiKind,
  type ObjectRef,
} from "../../provider/kube/objects";
import { startEmulator, StatusError, type Emulator } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { Secret } from "../emulator/kinds/core";

const api: ApiKind = {
  group: "virtualization.deckhouse.io",
  version: "v1alpha2",
  kind: "VirtualDiskSnapshot",
  plural: "virtualdisksnapshots",
  enableHint: 'enable the Deckhouse "virtualization" module',
};
const ref: ObjectRef = { api, namespace: "prod", name: "snap" };
const manifest = {
  apiVersion: "virtualization.deckhouse.io/v1alpha2",
  kind: "VirtualDiskSnapshot",
  metadata: { name: "snap", namespace: "prod" },
  spec: { virtualDiskName: "root", requiredConsistency: true },
};

describe("API requests and their failures", function () {
  let emu: Emulator;
  let cluster: Cluster;

  beforeEach(async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot, Secret] });
    cluster = await connect({ kubeconfig: emu.kubeconfig });
  });
  afterEach(async () => {
    await disconnectAll();
    forgetDiscovery();
    await emu.stop();
  });

  it("retries 429 after the server's Retry-After and then succeeds", async () => {
    emu.faults.throttle({ count: 2, retryAfterSeconds: 1, match: { verb: "create" } });
    const started = Date.now();
    await createObject(cluster, ref, manifest);
    assert.equal(emu.requests.count({ verb: "create" }), 3);
    assert.ok(Date.now() - started >= 2000, "waited as Retry-After asked");
  });

  it("retries a burst of 500/503 with back-off", async () => {
    emu.faults.failNext({ count: 3, code: 503, match: { verb: "get" } });
    emu.store.create(VirtualDiskSnapshot, manifest);
    assert.equal((await getObject(cluster, ref))?.metadata.name, "snap");
    assert.equal(emu.requests.count({ verb: "get", code: 503 }), 3);
  });

  it("gives up after a bounded number of attempts and says what failed", async () => {
    emu.faults.failNext({ count: 100, code: 500, match: { verb: "create" } });
    await assert.rejects(
      createObject(cluster, ref, manifest),
      /Cannot create VirtualDiskSnapshot prod\/snap: HTTP 500/,
    );
    assert.equal(emu.requests.count({ verb: "create" }), 6);
  });

  it("names the verb, resource and namespace on 403", async () => {
    emu.faults.rejectNext({
      error: new StatusError(
        403,
        "Forbidden",
        'virtualdisksnapshots.virtualization.deckhouse.io is forbidden: User "ci" cannot create resource',
        {},
      ),
      match: { verb: "create" },
    });
    await assert.rejects(
      createObject(cluster, ref, manifest),
      /Cannot create VirtualDiskSnapshot prod\/snap: HTTP 403 Forbidden: .*Grant "create" on virtualdisksnapshots.virtualization.deckhouse.io in namespace "prod"/,
    );
  });

  it("says in one sentence which kind the cluster does not serve and what to enable", async () => {
    emu.unserve(VirtualDiskSnapshot);
    await assert.rejects(
      createObject(cluster, ref, manifest),
      (e: Error) =>
        e.message ===
        'The cluster does not serve virtualization.deckhouse.io/v1alpha2 VirtualDiskSnapshot (resource virtualdisksnapshots.virtualization.deckhouse.io): enable the Deckhouse "virtualization" module.',
    );
  });

  it("reports the platform's validation message on 422", async () => {
    await assert.rejects(
      createObject(cluster, ref, { ...manifest, spec: { requiredConsistency: true } } as any),
      /Cannot create VirtualDiskSnapshot prod\/snap: HTTP 422 Invalid: .*spec.virtualDiskName/,
    );
  });

  it("fails within a bounded time when the cluster is unreachable", async () => {
    const dead = await connect({ kubeconfig: emu.kubeconfig.replace(emu.url, "https://127.0.0.1:1") });
    const started = Date.now();
    await assert.rejects(
      getObject(dead, ref),
      /Cannot get VirtualDiskSnapshot prod\/snap: the API server https:\/\/127.0.0.1:1 is unreachable \(ECONNREFUSED\)/,
    );
    assert.ok(Date.now() - started < 15_000);
  });

  it("never puts the token into an error", async () => {
    emu.faults.failNext({ count: 100, code: 500, match: { verb: "create" } });
    const error = await createObject(cluster, ref, manifest).catch((e) => e);
    assert.ok(!String(error.message).includes(emu.token));
    assert.ok(!JSON.stringify(error).includes(emu.token));
  });
});
