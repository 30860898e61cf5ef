// The kubectl peer: the bench creates each object through the API, then runs one `kubectl wait` per object
// (one process and one watch each), as a script around `kubectl apply` does; deletes are waited the same way.
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { killOnExit } from "../host/processes";
import type { Cluster } from "../../provider/kube/cluster";
import { apiVersionOf, createObject, deleteObject, resourceOf } from "../../provider/kube/objects";
import type { PeerRun, PeerWorkload } from "./peer";
import { sharedClock } from "./clock";
import { currentRssMb } from "./processUsage";

/** Whether `kubectl` is an executable on PATH. */
export function kubectlOnPath(): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, "kubectl"), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export interface KubectlWorkload extends PeerWorkload {
  /** The bench's own connection, for the creates and deletes. */
  cluster: Cluster;
  /** kubectl's discovery cache, warmed before the run as a user's ~/.kube/cache is. */
  cacheDir: string;
}

const rssSampleMs = 100;

export async function runKubectlWait(work: KubectlWorkload): Promise<PeerRun> {
  const endedAt = new Map<string, number>();
  const failures: string[] = [];
  const running = new Set<number>();
  let peakRssMb = 0;
  // Processes end before anyone could read their peak, so the sum of the live ones is sampled.
  const sampler = setInterval(() => {
    let sum = 0;
    for (const pid of running) sum += currentRssMb(pid);
    peakRssMb = Math.max(peakRssMb, sum);
  }, rssSampleMs);
  const kubectl = (args: string[]) =>
    new Promise<number>((resolve) => {
      const child = spawn(
        "kubectl",
        ["--kubeconfig", work.kubeconfigPath, "--cache-dir", work.cacheDir, "-n", work.namespace, ...args],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      const forget = killOnExit(child, false);
      running.add(child.pid!);
      let stderr = "";
      child.stderr!.on("data", (c) => (stderr += c));
      child.once("close", (code) => {
        const at = sharedClock();
        running.delete(child.pid!);
        forget();
        if (code !== 0) failures.push(`kubectl ${args.join(" ")}: exit ${code}: ${stderr.trim()}`);
        resolve(at);
      });
    });
  const ref = (name: string) => ({ api: work.api, namespace: work.namespace, name });
  const resource = (name: string) => `${resourceOf(work.api)}/${name}`;
  try {
    const createStart = performance.now();
    await Promise.all(
      work.objects.map(async ({ name, spec }) => {
        const manifest = {
          apiVersion: apiVersionOf(work.api),
          kind: work.api.kind,
          metadata: { name, namespace: work.namespace },
          spec,
        };
        await createObject(work.cluster, ref(name), manifest);
        endedAt.set(
          name,
          await kubectl(["wait", "--for=jsonpath={.status.phase}=Ready", resource(name), "--timeout=120s"]),
        );
      }),
    );
    const createMs = performance.now() - createStart;
    const deleteStart = performance.now();
    await Promise.all(
      work.objects.map(async ({ name }) => {
        await deleteObject(work.cluster, ref(name));
        await kubectl(["wait", "--for=delete", resource(name), "--timeout=120s"]);
      }),
    );
    return { createMs, deleteMs: performance.now() - deleteStart, endedAt, failures, peakRssMb };
  } finally {
    clearInterval(sampler);
  }
}
