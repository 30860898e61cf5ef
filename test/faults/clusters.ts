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

/** Registers the hooks of a describe block whose scenarios run on Deckhouse; `prefix` names their namespaces. */
export function deckhouseScenarios(
  prefix: string,
  phaseDelayMs = 20,
): Scenarios<SimulatedCluster<DeckhouseController>> {
  const at = { n: 0 } as {
    n: number;
    cluster: SimulatedCluster<DeckhouseController>;
    ns: string;
    stack: FaultStack;
  };
  before(async function () {
    if (usesRealCluster()) this.skip(); // faults are injected into the emulator
    const started = await deckhouseCluster({ phaseDelayMs });
    needsSimulator(this, started);
    at.cluster = started;
    await connect({ kubeconfig: started.kubeconfig }); // loads the Kubernetes client outside the scenarios' time
  });
  after(async () => at.cluster?.stop());
  beforeEach(async () => {
    at.ns = `${prefix}-${++at.n}`;
    createDeckhouseVm(at.cluster.store, { namespace: at.ns, name: "db", disks: ["db-root", "db-data"] });
    await waitFor(at.cluster.store, VirtualMachine, at.ns, "db", inPhase("Running"), 5000);
    at.stack = new FaultStack(await inProcessEngine(), {
      kubeconfig: at.cluster.kubeconfig,
      namespace: at.ns,
    });
    at.cluster.emulator.requests.reset();
  });
  afterEach(() => at.cluster?.emulator.faults.reset());
  return at;
}

/** The same on KubeVirt: a running VM "db" with one disk (claim db-root) in each scenario's namespace. */
export function kubevirtScenarios(prefix: string, phaseDelayMs = 10): Scenarios<SimulatedCluster> {
  const at = { n: 0 } as { n: number; cluster: SimulatedCluster; ns: string; stack: FaultStack };
  before(async function () {
    if (usesRealCluster()) this.skip(); // faults are injected into the emulator
    const started = await kubevirtCluster({ phaseDelayMs });
    needsSimulator(this, started);
    at.cluster = started;
  });
  after(async () => at.cluster?.stop());
  beforeEach(async () => {
    at.ns = `${prefix}-${++at.n}`;
    createKubeVirtVm(at.cluster.store, { namespace: at.ns, name: "db", running: true });
    const ready = (o: { status?: any } | undefined) => o?.status?.ready === true;
    await waitFor(at.cluster.store, KubeVirtVirtualMachine, at.ns, "db", ready, 5000);
    at.stack = new FaultStack(await inProcessEngine(), {
      kubeconfig: at.cluster.kubeconfig,
      namespace: at.ns,
    });
    at.cluster.emulator.requests.reset();
  });
  afterEach(() => at.cluster?.emulator.faults.reset());
  return at;
}
