// What the peers (the ways users wait today) are given and what a run of one reports.
import type { ApiKind } from "../../provider/kube/objects";

export interface PeerWorkload {
  kubeconfigPath: string;
  namespace: string;
  api: ApiKind;
  objects: { name: string; spec: Record<string, unknown> }[];
}

export interface PeerRun {
  /** From the first create sent to the last object seen in its terminal phase. */
  createMs: number;
  /** From the first delete sent to the last object seen gone. */
  deleteMs: number;
  /** When the peer reported each object's terminal phase, by name. */
  endedAt: Map<string, number>;
  failures: string[];
  /** The peer's processes: peak memory (all of them together) and CPU time, where known. */
  peakRssMb?: number;
  cpuSeconds?: number;
}
