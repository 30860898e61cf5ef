// A Kubernetes API server for tests: real REST, watch and discovery protocol over ObjectStore,
// reachable by @kubernetes/client-node and kubectl through the kubeconfig it writes.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Catalog } from "./catalog";
import type { Faults } from "./faults";
import { renderKubeconfig } from "./kubeconfig";
import type { RequestLog } from "./requestLog";
import { ApiServer } from "./server";
import { ObjectStore, type ResourceType } from "./store";
import { servingCertificates } from "./tls";

export interface EmulatorOptions {
  /** Kinds served (discovery + REST); several versions of one group/plural share storage. */
  types: ResourceType[];
  /** Default true: https with a private CA that the kubeconfig carries. */
  tls?: boolean;
  /** Default true: over TLS, HTTP/2 is offered beside HTTP/1.1; false offers HTTP/1.1 only. */
  http2?: boolean;
  /** Default 0: a free port. */
  port?: number;
  /** Bearer token every request must carry (default: a random one). */
  token?: string;
  /** Namespace of the kubeconfig context (default "default"). */
  namespace?: string;
  historyWindow?: number;
}

export interface Emulator {
  url: string;
  /** Kubeconfig YAML text. */
  kubeconfig: string;
  /** The kubeconfig as a file in a temporary directory, removed on stop. */
  kubeconfigPath: string;
  token: string;
  store: ObjectStore;
  faults: Faults;
  requests: RequestLog;
  /** Starts serving a kind (or another version of one) in discovery and REST. */
  serve(type: ResourceType): void;
  /** Stops serving a kind: discovery drops it, REST answers 404, its open watches end. */
  unserve(type: ResourceType): void;
  /** Closes every socket (open watches included) and deletes the temporary files. */
  stop(): Promise<void>;
  /** Drops every connection, refuses connections for downForMs, then listens again on the same port; the store is kept. */
  restart(opts?: { downForMs?: number }): Promise<void>;
}

export type { Faults, WatchCutPolicy } from "./faults";
export type { RequestLog, RequestMatch, RequestRecord, Verb } from "./requestLog";
export { ObjectStore, StatusError, type KubeObject, type ResourceType } from "./store";

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const certificates = opts.tls === false ? undefined : await servingCertificates();
  const store = new ObjectStore({ historyWindow: opts.historyWindow });
  const catalog = new Catalog();
  const token = opts.token ?? randomBytes(24).toString("base64url");
  const server = new ApiServer({ store, catalog, token, certificates, http2: opts.http2 });
  const serve = (type: ResourceType) => {
    catalog.serve(type);
    store.register(type);
  };
  opts.types.forEach(serve);
  await server.listen(opts.port ?? 0);
  const kubeconfig = renderKubeconfig({
    url: server.url,
    token,
    namespace: opts.namespace ?? "default",
    caCert: certificates?.caCert,
  });
  const dir = await mkdtemp(join(tmpdir(), "vm-snapshots-emulator-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });
  let stopped: Promise<void> | undefined;
  return {
    url: server.url,
    kubeconfig,
    kubeconfigPath,
    token,
    store,
    faults: server.faults,
    requests: server.requests,
    serve,
    unserve(type) {
      catalog.unserve(type);
      server.endWatches(type);
    },
    stop() {
      stopped ??= (async () => {
        await server.close();
        server.dispose();
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
    async restart({ downForMs = 0 } = {}) {
      await server.close();
      if (downForMs > 0) await new Promise((resolve) => setTimeout(resolve, downForMs));
      if (!stopped) await server.listen(); // a stop during the downtime wins
    },
  };
}
