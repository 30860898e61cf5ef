// The real kubectl against the emulator: apply, get, wait and delete --wait on a Deckhouse kind.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { startEmulator, type Emulator } from "./index";
import { waitFor } from "../simulators/waitFor";
import { VirtualDiskSnapshot } from "./kinds/deckhouse";

const onPath = (command: string) =>
  (process.env.PATH ?? "").split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** When the process exited (ms since the epoch). */
  exitedAt: number;
}

const MANIFEST = `apiVersion: virtualization.deckhouse.io/v1alpha2
kind: VirtualDiskSnapshot
metadata:
  name: disk-snapshot
  labels:
    app: demo
spec:
  virtualDiskName: disk
  requiredConsistency: true
`;

describe("kubectl against the emulator", function () {
  let emu: Emulator;
  let dir: string;

  before(function () {
    if (!onPath("kubectl")) this.skip();
  });

  beforeEach(async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    dir = await mkdtemp(join(tmpdir(), "kubectl-test-"));
  });

  afterEach(async () => {
    await emu?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs kubectl with the emulator's kubeconfig; a hang is killed after timeoutMs and fails the test. */
  const kubectl = (args: string[], timeoutMs = 15_000): Promise<Run> =>
    new Promise((resolve, reject) => {
      const child = execFile(
        "kubectl",
        ["--kubeconfig", emu.kubeconfigPath, "--cache-dir", join(dir, "cache"), ...args],
        { timeout: timeoutMs, killSignal: "SIGKILL" },
        (error, stdout, stderr) => {
          if (error && error.killed)
            return reject(new Error(`kubectl ${args.join(" ")} hung for ${timeoutMs} ms`));
          resolve({ code: child.exitCode ?? 1, stdout, stderr, exitedAt: Date.now() });
        },
      );
    });

  const apply = async () => {
    const file = join(dir, "snapshot.yaml");
    await writeFile(file, MANIFEST);
    return kubectl(["apply", "-f", file]);
  };

  const setPhaseLater = (phase: string, afterMs: number) =>
    new Promise<number>((resolve) =>
      setTimeout(() => {
        const obj = emu.store.mustGet(VirtualDiskSnapshot, "default", "disk-snapshot");
        emu.store.update(VirtualDiskSnapshot, { ...obj, status: { phase } }, { subresource: "status" });
        resolve(Date.now());
      }, afterMs),
    );

  it("applies a manifest and reads the object back as JSON", async () => {
    const applied = await apply();
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(
      applied.stdout.trim(),
      "virtualdisksnapshot.virtualization.deckhouse.io/disk-snapshot created",
    );

    const again = await apply();
    assert.equal(
      again.stdout.trim(),
      "virtualdisksnapshot.virtualization.deckhouse.io/disk-snapshot unchanged",
    );

    const got = await kubectl(["get", "vdsnapshot", "disk-snapshot", "-o", "json"]);
    assert.equal(got.code, 0, got.stderr);
    const obj = JSON.parse(got.stdout);
    assert.equal(obj.apiVersion, "virtualization.deckhouse.io/v1alpha2");
    assert.equal(obj.kind, "VirtualDiskSnapshot");
    assert.equal(obj.metadata.namespace, "default");
    assert.equal(obj.spec.virtualDiskName, "disk");
    assert.deepEqual(obj.metadata.labels, { app: "demo" });
    assert.ok(obj.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);

    // Client-side apply names its field manager; the server records its create as an Update by it.
    const shown = await kubectl([
      "get",
      "vdsnapshot",
      "disk-snapshot",
      "-o",
      "json",
      "--show-managed-fields",
    ]);
    assert.deepEqual(
      JSON.parse(shown.stdout).metadata.managedFields.map((m: { manager: string; operation: string }) => [
        m.manager,
        m.operation,
      ]),
      [["kubectl-client-side-apply", "Update"]],
    );
  });

  it("waits for a status phase and returns as soon as it is set", async () => {
    assert.equal((await apply()).code, 0);
    const [run, setAt] = await Promise.all([
      kubectl(["wait", "vdsnapshot/disk-snapshot", "--for=jsonpath={.status.phase}=Ready", "--timeout=10s"]),
      setPhaseLater("Ready", 300),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout.trim(),
      "virtualdisksnapshot.virtualization.deckhouse.io/disk-snapshot condition met",
    );
    const lag = run.exitedAt - setAt;
    assert.ok(lag < 500, `kubectl wait returned ${lag} ms after the status changed`);
  });

  it("deletes with --wait and returns once the last finalizer is removed", async () => {
    assert.equal((await apply()).code, 0);
    const obj = emu.store.mustGet(VirtualDiskSnapshot, "default", "disk-snapshot");
    emu.store.update(VirtualDiskSnapshot, {
      ...obj,
      metadata: { ...obj.metadata, finalizers: ["test/hold"] },
    });

    let markedForDeletion: string | undefined;
    // Once kubectl's delete has marked the object (however long kubectl takes to start), hold it a
    // moment like a controller would, then remove the last finalizer.
    const removeFinalizer = waitFor(
      emu.store,
      VirtualDiskSnapshot,
      "default",
      "disk-snapshot",
      (o) => !!o?.metadata.deletionTimestamp,
      10_000,
    ).then(async (held) => {
      markedForDeletion = held!.metadata.deletionTimestamp;
      await new Promise((r) => setTimeout(r, 300));
      const current = emu.store.mustGet(VirtualDiskSnapshot, "default", "disk-snapshot");
      emu.store.update(VirtualDiskSnapshot, {
        ...current,
        metadata: { ...current.metadata, finalizers: [] },
      });
      return Date.now();
    });
    const [run, removedAt] = await Promise.all([
      kubectl(["delete", "vdsnapshot", "disk-snapshot", "--wait", "--timeout=10s"]),
      removeFinalizer,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(markedForDeletion, "kubectl's delete marked the object before the finalizer went");
    assert.equal(
      run.stdout.trim(),
      'virtualdisksnapshot.virtualization.deckhouse.io "disk-snapshot" deleted',
    );
    assert.ok(run.exitedAt >= removedAt, "kubectl waited for the finalizer");
    assert.ok(
      run.exitedAt - removedAt < 500,
      `returned ${run.exitedAt - removedAt} ms after the object went`,
    );
    assert.equal(emu.store.get(VirtualDiskSnapshot, "default", "disk-snapshot"), undefined);
  });

  it("applies server-side: creates, drops what it no longer applies, and refuses another manager's field unless forced", async () => {
    const file = join(dir, "snapshot.yaml");
    const applyWith = async (labels: string, extra: string[] = []) => {
      await writeFile(file, MANIFEST.replace("    app: demo\n", labels));
      return kubectl(["apply", "--server-side", "-f", file, ...extra]);
    };
    const labelsNow = async () =>
      JSON.parse(
        (await kubectl(["get", "vdsnapshot", "disk-snapshot", "-o", "json", "--show-managed-fields"])).stdout,
      ).metadata;

    const created = await applyWith("    app: demo\n    tier: db\n");
    assert.equal(created.code, 0, created.stderr);
    assert.equal(
      created.stdout.trim(),
      "virtualdisksnapshot.virtualization.deckhouse.io/disk-snapshot serverside-applied",
    );
    let metadata = await labelsNow();
    assert.deepEqual(metadata.labels, { app: "demo", tier: "db" });
    assert.deepEqual(
      metadata.managedFields.map((m: { manager: string; operation: string }) => [m.manager, m.operation]),
      [["kubectl", "Apply"]],
    );

    assert.equal((await applyWith("    app: demo\n")).code, 0);
    assert.deepEqual((await labelsNow()).labels, { app: "demo" }, "the label no longer applied is removed");

    const refused = await applyWith("    app: other\n", ["--field-manager", "other"]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /Apply failed with 1 conflict: conflict with "kubectl": \.metadata\.labels\.app/,
    );
    assert.deepEqual((await labelsNow()).labels, { app: "demo" }, "a refused apply changes nothing");

    const forced = await applyWith("    app: other\n", ["--field-manager", "other", "--force-conflicts"]);
    assert.equal(forced.code, 0, forced.stderr);
    metadata = await labelsNow();
    assert.deepEqual(metadata.labels, { app: "other" });
    assert.deepEqual(
      metadata.managedFields.map((m: { manager: string }) => m.manager).sort(),
      ["kubectl", "other"],
      "kubectl keeps the spec it applied; the label moved to the forcing manager",
    );
  });

  it("reports a missing object with exit code 1 and the server's message", async () => {
    const run = await kubectl(["get", "vdsnapshot", "missing"]);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr.trim(),
      'Error from server (NotFound): virtualdisksnapshots.virtualization.deckhouse.io "missing" not found',
    );
  });
});
