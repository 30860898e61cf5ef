// The cluster a group of fault scenarios runs against (the emulator with a platform's simulated controllers), and
// each scenario's own namespace, VM and stack: a scenario that fails cannot leave objects or faults to the next.
import { connect } from "../../provider/kube/cluster";
import { VirtualMachine } from "../emulator/kinds/deckhouse";
import { KubeVirtVirtualMachine } from "../emulator/kinds/kubevirt";
import {
  deckhouseCluster,
  kubevirtCluster,
  needsSimulator,
  usesRealCluster,
  type SimulatedCluster,
  type TestCluster,
} from "../fixtures/cluster";
import { createVirtualMachine as createDeckhouseVm } from "../simulators/deckhouse/fixtures";
import { createVirtualMachine as createKubeVirtVm } from "../simulators/kubevirt/fixtures";
import { inPhase, waitFor } from "../simulators/waitFor";
import type { DeckhouseController } from "../simulators/deckhouse";
import { inProcessEngine } from "./inProcessHost";
import { FaultStack } from "./stack";

export interface Scenarios<C> {
  readonly cluster: C;
  /** This scenario's namespace, where a VM "db" (Deckhouse: disks db-root and db-data) is ready. */
  readonly ns: string;
  /** An empty stack whose resources default to this namespace and the cluster's kubeconfig. */
  readonly stack: FaultStack;
}

/** How one platform's scenarios get their cluster, and their VM "db" in each scenario's namespace. */
interface PlatformSetup<Controller> {
  start(): Promise<TestCluster<Controller>>;
  /** Runs once the simulated cluster is up, before the first scenario. */
  started?(cluster: SimulatedCluster<Controller>): Promise<unknown>;
  /** Creates the VM "db" in `ns` and resolves when it is ready. */
  createVm(cluster: SimulatedCluster<Controller>, ns: string): Promise<unknown>;
}

/** Registers the hooks of a describe block whose scenarios run on `platform`; `prefix` names their namespaces. */
function scenariosOn<Controller>(
  prefix: string,
  platform: PlatformSetup<Controller>,
): Scenarios<SimulatedCluster<Controller>> {
  const at = { n: 0 } as { n: number; cluster: SimulatedCluster<Controller>; ns: string; stack: FaultStack };
  before(async function () {
    if (usesRealCluster()) this.skip(); // faults are injected into the emulator
    const started = await platform.start();
    needsSimulator(this, started);
    at.cluster = started;
    await platform.started?.(started);
  });
  after(async () => at.cluster?.stop());
  beforeEach(async () => {
    at.ns = `${prefix}-${++at.n}`;
    await platform.createVm(at.cluster, at.ns);
    at.stack = new FaultStack(await inProcessEngine(), {
      kubeconfig: at.cluster.kubeconfig,
      namespace: at.ns,
    });
    at.cluster.emulator.requests.reset();
  });
  afterEach(() => at.cluster?.emulator.faults.reset());
  return at;
}

/** Scenarios on Deckhouse: a running VM "db" with disks db-root and db-data in each scenario's namespace. */
export function deckhouseScenarios(
  prefix: string,
  phaseDelayMs = 20,
): Scenarios<SimulatedCluster<DeckhouseController>> {
  return scenariosOn(prefix, {
    start: () => deckhouseCluster({ phaseDelayMs }),
    // Loads the Kubernetes client outside the scenarios' time.
    started: (cluster) => connect({ kubeconfig: cluster.kubeconfig }),
    createVm: (cluster, ns) => {
      createDeckhouseVm(cluster.store, { namespace: ns, name: "db", disks: ["db-root", "db-data"] });
      return waitFor(cluster.store, VirtualMachine, ns, "db", inPhase("Running"), 5000);
    },
  });
}

/** The same on KubeVirt: a running VM "db" with one disk (claim db-root) in each scenario's namespace. */
export function kubevirtScenarios(prefix: string, phaseDelayMs = 10): Scenarios<SimulatedCluster> {
  return scenariosOn(prefix, {
    start: () => kubevirtCluster({ phaseDelayMs }),
    createVm: (cluster, ns) => {
      createKubeVirtVm(cluster.store, { namespace: ns, name: "db", running: true });
      const ready = (o: { status?: any } | undefined) => o?.status?.ready === true;
      return waitFor(cluster.store, KubeVirtVirtualMachine, ns, "db", ready, 5000);
    },
  });
}
