// Cluster access: one kubeconfig resolver for every resource. A Cluster is cached per process by a
// key that holds no secret, so all resources of one `pulumi up` share connections and watches.
import { createHash } from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";

export interface ClusterSettings {
  /** Kubeconfig text; without it KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
}

export interface Cluster {
  /** Identifies the cluster and user without revealing credentials (a hash). */
  readonly key: string;
  readonly server: string;
  /** The namespace of the kubeconfig context, or "default". */
  readonly namespace: string;
  readonly contextName: string;
  /** Request options with credentials applied; fresh per request so rotating tokens keep working. */
  requestOptions(): Promise<https.RequestOptions>;
  readonly agent: http.Agent;
}

export class KubeconfigError extends Error {}

const clusters = new Map<string, Promise<Cluster>>();

export function connect(settings: ClusterSettings): Promise<Cluster> {
  const key = createHash("sha256")
    .update(settings.kubeconfig ?? `env:${process.env.KUBECONFIG ?? ""}`)
    .update("\0")
    .update(settings.context ?? "")
    .digest("hex")
    .slice(0, 16);
  let cluster = clusters.get(key);
  if (!cluster) {
    cluster = load(key, settings);
    clusters.set(key, cluster);
    cluster.catch(() => clusters.delete(key));
  }
  return cluster;
}

/** Reads and checks a kubeconfig without contacting anything: a bad one is a KubeconfigError naming what is wrong. */
export function readKubeconfig(settings: ClusterSettings) {
  const { KubeConfig } = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
  const kc = new KubeConfig();
  const source = settings.kubeconfig !== undefined ? "the kubeconfig input" : describeDefaultSource();
  try {
    if (settings.kubeconfig !== undefined) kc.loadFromString(settings.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    // client-node's parse errors may quote the document; keep only the first line, never the content.
    const first = String((e as Error).message ?? e)
      .split("\n")[0]
      .slice(0, 200);
    throw new KubeconfigError(
      `Cannot read ${source}: ${redact(first)}. Check that it is a valid kubeconfig.`,
    );
  }
  if (settings.context) {
    if (!kc.getContextObject(settings.context)) {
      const known = kc.getContexts().map((c) => c.name);
      throw new KubeconfigError(
        `Context "${settings.context}" is not in ${source}; it has ${known.length ? known.map((n) => `"${n}"`).join(", ") : "no contexts"}.`,
      );
    }
    kc.setCurrentContext(settings.context);
  }
  const current = kc.getCurrentCluster();
  if (!current?.server) {
    throw new KubeconfigError(
      `${source} has no cluster for context "${kc.getCurrentContext() || "(none)"}". Set "context" or fix current-context.`,
    );
  }
  return { kc, current };
}

async function load(key: string, settings: ClusterSettings): Promise<Cluster> {
  const { kc, current } = readKubeconfig(settings);
  const server = current.server.replace(/\/+$/, "");
  const context = kc.getContextObject(kc.getCurrentContext());
  const probe: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(probe);
  // Exec plugins and auth providers hand out tokens that expire: ask again per request. Anything else
  // (a token, a certificate, basic auth) is fixed, and asking builds a TLS agent each time.
  const user = kc.getCurrentUser();
  const refreshes = !!(user?.exec || user?.authProvider);
  const secure = server.startsWith("https:");
  const agentOptions = {
    keepAlive: true,
    maxSockets: 64,
    ca: probe.ca,
    cert: probe.cert,
    key: probe.key,
    rejectUnauthorized: probe.rejectUnauthorized,
  };
  const agent = secure ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    key,
    server,
    namespace: context?.namespace || "default",
    contextName: kc.getCurrentContext(),
    agent,
    async requestOptions() {
      if (!refreshes) return { headers: probe.headers, auth: probe.auth, agent };
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      return { headers: opts.headers, auth: opts.auth, agent };
    },
  };
}

function describeDefaultSource() {
  if (process.env.KUBECONFIG) return "the kubeconfig named by KUBECONFIG";
  return "the default kubeconfig (~/.kube/config or in-cluster)";
}

/** Removes anything that looks like a credential from a message. */
export function redact(text: string): string {
  return text
    .replace(
      /(token|password|client-key-data|client-certificate-data|certificate-authority-data)(["']?\s*[:=]\s*)\S+/gi,
      "$1$2[redacted]",
    )
    .replace(/Bearer\s+\S+/gi, "Bearer [redacted]");
}

/** Forgets cached clusters and closes their connections (tests, and the end of a demo). */
export async function disconnectAll(): Promise<void> {
  const all = [...clusters.values()];
  clusters.clear();
  for (const c of all) {
    try {
      (await c).agent.destroy();
    } catch {
      // a cluster that failed to load has no agent
    }
  }
}
