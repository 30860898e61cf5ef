// The kubeconfig and its token through whole lifecycles, the failing ones included: they never show in a progress
// line, a log, an error or an output, except the `kubeconfig` output itself, which the Resource classes mark secret.
import assert from "node:assert/strict";
import { StatusError } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { KnobAnnotation } from "../simulators/knobs";
import type { ResourceState } from "../host/engine";
import { deckhouseScenarios } from "./clusters";
import { finish } from "./consistency";
import { scenario } from "./summary";

const VDS = "deckhouse:VirtualDiskSnapshot";
const VMS = "deckhouse:VirtualMachineSnapshot";

/** Everything a user could see: console output, errors (message, stack, own fields) and outputs. */
class Exposure {
  readonly texts: string[] = [];
  private readonly restore: (() => void)[] = [];

  constructor() {
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      const original = console[method];
      console[method] = (...args: unknown[]) => void this.texts.push(args.map(String).join(" "));
      this.restore.push(() => (console[method] = original));
    }
  }

  /** Runs a step; its error (if any) is recorded and returned, not thrown. */
  async step<T>(run: () => Promise<T>): Promise<T | Error> {
    try {
      return await run();
    } catch (e) {
      const error = e as Error & Record<string, unknown>;
      const { state: _outputsChecked, ...fields } = error;
      this.texts.push(error.message, String(error.stack), JSON.stringify(fields));
      if (error.state) this.outputs(error.state as ResourceState);
      return error;
    }
  }

  /** A resource's outputs and inputs, but for the `kubeconfig` property that carries it by design. */
  outputs(state: ResourceState | undefined): void {
    if (!state) return;
    const { kubeconfig: _out, ...outputs } = state.outputs;
    const { kubeconfig: _in, ...inputs } = state.inputs;
    this.texts.push(JSON.stringify(outputs), JSON.stringify(inputs));
  }

  stop(): void {
    for (const undo of this.restore) undo();
  }
}

describe("faults: secrets", function () {
  const at = deckhouseScenarios("secrets");

  scenario(
    "Secrets through whole lifecycles: create, update, refresh, destroy, platform failure, timeout, 401, 403, unreachable, malformed kubeconfig, delete timeout",
    "neither the kubeconfig nor its token appears in a log line, an error or an output (but the kubeconfig output, marked secret)",
    async () => {
      const { cluster, stack } = at;
      const token = cluster.emulator.token;
      const wrongToken = "wrong-token-3b9f0c2e7d";
      const clientKey = Buffer.from("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB9x\n").toString("base64");
      const seen = new Exposure();
      try {
        const ok = await seen.step(() => stack.up(VDS, "disk", { virtualDiskName: "db-root" }));
        seen.outputs(ok as ResourceState);
        seen.outputs(
          (await seen.step(() =>
            stack.up(VDS, "disk", { virtualDiskName: "db-root", labels: { tier: "db" } }),
          )) as ResourceState,
        );
        seen.outputs((await seen.step(() => stack.refresh(VDS, "disk"))) as ResourceState | undefined);
        await seen.step(() =>
          stack.up(VMS, "failing", {
            virtualMachineName: "db",
            annotations: { [KnobAnnotation.Fail]: "Failed: the snapshot could not be taken" },
          }),
        );
        await seen.step(() =>
          stack.up(VDS, "slow", {
            virtualDiskName: "db-data",
            annotations: { [KnobAnnotation.Hang]: "InProgress" },
            waitTimeoutSeconds: 1,
          }),
        );
        await seen.step(() =>
          stack.up(VDS, "unauthorized", {
            virtualDiskName: "db-root",
            kubeconfig: cluster.kubeconfig.replace(token, wrongToken),
          }),
        );
        cluster.emulator.faults.rejectNext({
          error: new StatusError(
            403,
            "Forbidden",
            'User "ci" cannot create resource "virtualdisksnapshots"',
            {},
          ),
          match: { verb: "create" },
        });
        await seen.step(() => stack.up(VDS, "forbidden", { virtualDiskName: "db-root" }));
        await seen.step(() =>
          stack.up(VDS, "unreachable", {
            virtualDiskName: "db-root",
            kubeconfig: cluster.kubeconfig.replace(cluster.emulator.url, "https://127.0.0.1:1"),
          }),
        );
        const malformed = `users:\n- name: u\n  user:\n    token: ${token}\n    client-key-data: ${clientKey}\n  - [`;
        await seen.step(() =>
          stack.up(VDS, "malformed", { virtualDiskName: "db-root", kubeconfig: malformed }),
        );
        await seen.step(() =>
          stack.up(VDS, "held", {
            virtualDiskName: "db-root",
            annotations: { [KnobAnnotation.HoldDeletion]: "true" },
            deleteTimeoutSeconds: 1,
          }),
        );
        await seen.step(() => stack.destroy(VDS, "held"));
      } finally {
        seen.stop();
      }
      const all = seen.texts.join("\n");
      for (const expected of [
        /disk-\w+: Ready/,
        /failed: Failed: the snapshot could not be taken/,
        /is still InProgress after 1s/,
        /HTTP 401 Unauthorized/,
        /HTTP 403 Forbidden/,
        /is unreachable \(ECONNREFUSED\)/,
        /Cannot read the kubeconfig input/,
        /is still being deleted after 1s/,
      ]) {
        assert.match(all, expected, "a lifecycle did not go as the scenario needs");
      }
      for (const [what, secret] of [
        ["the token", token],
        ["the wrong token", wrongToken],
        ["the client key", clientKey],
        ["the kubeconfig", cluster.kubeconfig.trim()],
      ]) {
        assert.ok(!all.includes(secret), `${what} appears in what the user sees`);
      }

      // Let the held snapshot go, and end as every scenario does.
      const held = cluster.store.get(VirtualDiskSnapshot, at.ns, stack.state(VDS, "held")!.outputs.name)!;
      delete held.metadata.annotations![KnobAnnotation.HoldDeletion];
      cluster.store.update(VirtualDiskSnapshot, held);
      return finish(stack, cluster.store, { platform: "deckhouse" });
    },
  );
});
