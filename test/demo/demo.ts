// `npm run demo`: the quickstart against an emulated Deckhouse cluster with a demo VM, created and destroyed as
// `pulumi up` and `pulumi destroy` would (for real when the Pulumi CLI is on PATH), then everything stopped again.
import { VirtualMachine } from "../emulator/kinds/deckhouse";
import { startSimulatedCluster } from "../examples/cluster";
import { Stack } from "../examples/stack";
import { repoRoot } from "../host/repo";
import { createVirtualMachine } from "../simulators/deckhouse/fixtures";
import { inPhase, waitFor } from "../simulators/waitFor";
import { PulumiDisplay } from "./display";
import { pulumiOnPath, upAndDestroyWithCli } from "./pulumiCli";

const namespace = "demo";
const stackName = "demo";

export interface DemoOptions {
  write: (line: string) => void;
  /** Ctrl-C: stop what runs and clean up. */
  signal: AbortSignal;
}

export async function runDemo({ write, signal }: DemoOptions): Promise<void> {
  write(
    "Starting a Kubernetes API emulator with the simulated Deckhouse virtualization controller (v1.10)...",
  );
  const cluster = await startSimulatedCluster("deckhouse-v1.10", {
    phaseDelayMs: { min: 300, max: 900 },
    namespace,
  });
  try {
    write(`  API server ${cluster.emulator.url}, kubeconfig ${cluster.emulator.kubeconfigPath}`);
    write(
      `  (while the demo runs: kubectl --kubeconfig ${cluster.emulator.kubeconfigPath} get vm,vd,vdsnapshot,vmsnapshot)`,
    );
    createVirtualMachine(cluster.store, {
      namespace,
      name: "demo-vm",
      disks: ["demo-vm-root", "demo-vm-data"],
    });
    await waitFor(cluster.store, VirtualMachine, namespace, "demo-vm", inPhase("Running"), 30_000);
    write(`  VirtualMachine ${namespace}/demo-vm is Running, with disks demo-vm-root and demo-vm-data`);
    write("");
    signal.throwIfAborted();
    const pulumi = pulumiOnPath();
    if (pulumi) {
      write(`Running the quickstart with ${pulumi} (stack "${stackName}", local file backend)`);
      await upAndDestroyWithCli(pulumi, cluster.env, stackName, signal);
    } else {
      write("No Pulumi CLI on PATH: running the quickstart through Pulumi's dynamic-provider host instead");
      write("");
      await upAndDestroyWithHost(cluster.env, write, signal);
    }
  } finally {
    await cluster.stop();
  }
}

/** The quickstart's resources through the real host, printed as `pulumi up` and `pulumi destroy` print them. */
async function upAndDestroyWithHost(
  env: NodeJS.ProcessEnv,
  write: (line: string) => void,
  signal: AbortSignal,
) {
  const display = new PulumiDisplay(write);
  write(`Starting Pulumi's dynamic-provider host for the project in ${repoRoot}...`);
  const stack = await Stack.start({
    dir: repoRoot,
    stack: stackName,
    env,
    signal,
    onStep: (s) => display.step(s),
  });
  const stopOnAbort = () => void stack.stop();
  signal.addEventListener("abort", stopOnAbort);
  stack.engine.host.onLine(({ line }) => display.providerLine(line));
  try {
    signal.throwIfAborted();
    display.begin("Updating", stackName);
    await stack.up();
    display.end();
    display.begin("Destroying", stackName);
    await stack.destroy();
    display.end();
  } finally {
    signal.removeEventListener("abort", stopOnAbort);
    await stack.stop();
  }
}
