// Cluster access: one kubeconfig resolver for every resource. A Cluster is cached per process by a
// key that holds no secret, so all resources of one `pulumi up` share connections and watches.
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type * as tls from "node:tls";
import type { Cluster as KubeconfigCluster, Context, User } from "@kubernetes/client-node";
import { closeSessions } from "./http2";

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
  /** HTTP/1.1 connections, for a server that does not speak HTTP/2 (or plain http). */
  readonly agent: http.Agent;
  /** How to open a TLS connection to the server; undefined for plain http. */
  readonly tls?: tls.ConnectionOptions;
}

export class KubeconfigError extends Error {}

/** What the provider needs of a kubeconfig: client-node's KubeConfig, or the same read of a plain one. */
interface Kubeconfig {
  getContexts(): Context[];
  getContextObject(name: string): Context | null;
  getCurrentContext(): string;
  setCurrentContext(name: string): void;
  getCurrentCluster(): KubeconfigCluster | null;
  getCurrentUser(): User | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

const clusters = new Map<string, Promise<Cluster>>();

export function connect(settings: ClusterSettings): Promise<Cluster> {
  const key = keyOf(settings.kubeconfig ?? `env:${process.env.KUBECONFIG ?? ""}`, settings.context ?? "");
  let cluster = clusters.get(key);
  if (!cluster) {
    cluster = load(key, settings);
    clusters.set(key, cluster);
    cluster.catch(() => clusters.delete(key));
  }
  return cluster;
}

let lastKey: { source: string; context: string; key: string } | undefined;

/** The cache key of a kubeconfig and context: every resource of a stack asks with the same text, so the last is kept. */
function keyOf(source: string, context: string): string {
  if (lastKey?.source === source && lastKey.context === context) return lastKey.key;
  const key = createHash("sha256").update(source).update("\0").update(context).digest("hex").slice(0, 16);
  lastKey = { source, context, key };
  return key;
}

/** Reads and checks a kubeconfig without contacting anything: a bad one is a KubeconfigError naming what is wrong. */
export function readKubeconfig(settings: ClusterSettings) {
  const source = settings.kubeconfig !== undefined ? "the kubeconfig input" : describeDefaultSource();
  let kc: Kubeconfig;
  try {
    kc = loadKubeconfig(settings);
  } catch (e) {
    if (e instanceof KubeconfigError) throw e;
    // Parse errors may quote the document; keep only the first line, never the content.
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
  // As client-node refuses: credentials would cross the network unencrypted.
  if (current.server.startsWith("http:") && !current.skipTLSVerify) {
    throw new KubeconfigError(
      `${source} names a plain http:// server (${current.server}) for context "${kc.getCurrentContext()}": ` +
        `credentials would be sent unencrypted. Use the cluster's https:// address, or set ` +
        `insecure-skip-tls-verify: true on that cluster if it is a local proxy such as "kubectl proxy".`,
    );
  }
  return { kc, current };
}

/**
 * A kubeconfig with fixed credentials (a token, a client certificate) is read with client-node's own entry
 * parsers, which load in milliseconds. The whole client costs half a second of CPU to load, paid only when
 * the kubeconfig needs it: exec plugins and auth providers, the in-cluster account, several KUBECONFIG files.
 */
function loadKubeconfig(settings: ClusterSettings): Kubeconfig {
  const files = settings.kubeconfig === undefined ? kubeconfigFiles() : [];
  // One file is read here; client-node merges several (and on Windows without KUBECONFIG also asks WSL).
  const one = files.length === 1 && (process.platform !== "win32" || !!process.env.KUBECONFIG);
  const file = one ? files[0] : undefined;
  const text = settings.kubeconfig ?? (file !== undefined ? readFileSync(file, "utf8") : undefined);
  if (text !== undefined) {
    const plain = PlainKubeconfig.parse(text, file && path.dirname(file));
    if (!plain.needsClient(settings.context)) return plain;
  } else if (!files.length && !process.env.KUBERNETES_SERVICE_HOST) {
    // client-node would fall back to http://localhost:8080, which is never what a user meant.
    throw new KubeconfigError(
      "No kubeconfig was found: KUBECONFIG is not set, ~/.kube/config does not exist and this is not a pod. " +
        'Set KUBECONFIG, the "kubeconfig" input or the pulumi-vm-snapshots:kubeconfig stack setting.',
    );
  }
  const { KubeConfig } = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
  const kc = new KubeConfig();
  if (settings.kubeconfig !== undefined) kc.loadFromString(settings.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

/** The files KUBECONFIG names, or else ~/.kube/config if it exists (HOME as client-node reads it). */
function kubeconfigFiles(): string[] {
  const named = (process.env.KUBECONFIG ?? "").split(path.delimiter).filter(Boolean);
  if (named.length) return named;
  const home = process.platform === "win32" ? os.homedir() : process.env.HOME;
  const file = home ? path.join(home, ".kube", "config") : undefined;
  return file && existsSync(file) ? [file] : [];
}

type ConfigTypes = typeof import("@kubernetes/client-node/dist/config_types.js");

/** A kubeconfig document read as client-node reads it, for the credentials that need none of its machinery. */
class PlainKubeconfig implements Kubeconfig {
  private constructor(
    private readonly clusters: KubeconfigCluster[],
    private readonly contexts: Context[],
    private readonly users: User[],
    private currentContext: string,
  ) {}

  static parse(text: string, dir: string | undefined): PlainKubeconfig {
    const yaml = require("js-yaml") as typeof import("js-yaml");
    const entries = require("@kubernetes/client-node/dist/config_types.js") as ConfigTypes;
    const doc = yaml.load(text) as Record<string, any> | null;
    if (!doc || typeof doc !== "object") throw new Error("it is not a YAML mapping");
    // Relative file names in a kubeconfig file are relative to that file, as kubectl reads them.
    const absolute = (file: string | undefined) => (dir && file ? path.resolve(dir, file) : file);
    if (Array.isArray(doc.users)) {
      // client-node reads a token file while parsing, so it must be made absolute first.
      for (const u of doc.users) {
        if (u?.user?.["token-file"]) u.user["token-file"] = absolute(u.user["token-file"]);
      }
    }
    const clusters = entries.newClusters(doc.clusters);
    const users = entries.newUsers(doc.users);
    for (const c of clusters) c.caFile = absolute(c.caFile);
    for (const u of users) Object.assign(u, { certFile: absolute(u.certFile), keyFile: absolute(u.keyFile) });
    // Not stringified: names are compared as client-node compares them (`current-context: 1` matches `name: 1`).
    return new PlainKubeconfig(clusters, entries.newContexts(doc.contexts), users, doc["current-context"]);
  }

  /** Whether the user of `context` (or the current one) gets short-lived credentials from a plug-in. */
  needsClient(context: string | undefined): boolean {
    const ctx = this.getContextObject(context || this.currentContext);
    const user = this.users.find((u) => u.name === ctx?.user);
    return !!(user?.exec || user?.authProvider);
  }

  getContexts() {
    return this.contexts;
  }
  getContextObject(name: string) {
    return this.contexts.find((c) => c.name === name) ?? null;
  }
  getCurrentContext() {
    return this.currentContext;
  }
  setCurrentContext(name: string) {
    this.currentContext = name;
  }
  getCurrentCluster() {
    const name = this.getContextObject(this.currentContext)?.cluster;
    return this.clusters.find((c) => c.name === name) ?? null;
  }
  getCurrentUser() {
    const name = this.getContextObject(this.currentContext)?.user;
    return this.users.find((u) => u.name === name) ?? null;
  }

  /** As client-node's KubeConfig.applyToHTTPSOptions, for a user without exec plugin or auth provider. */
  async applyToHTTPSOptions(opts: https.RequestOptions) {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!user) return;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const bytes = (file?: string, data?: string) =>
      file ? readFileSync(file) : data ? Buffer.from(data, "base64") : undefined;
    const ca = bytes(cluster?.caFile, cluster?.caData);
    const cert = bytes(user.certFile, user.certData);
    const key = bytes(user.keyFile, user.keyData);
    if (ca) opts.ca = ca;
    if (cert) opts.cert = cert;
    if (key) opts.key = key;
    const headers = (opts.headers ??= {}) as Record<string, string>;
    if (user.impersonateUser != null) headers["Impersonate-User"] = user.impersonateUser;
    if (user.token) headers.Authorization = `Bearer ${user.token}`;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
  }
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
  const tlsOptions: tls.ConnectionOptions = {
    ca: probe.ca,
    cert: probe.cert,
    key: probe.key,
    servername: probe.servername,
    rejectUnauthorized: probe.rejectUnauthorized,
  };
  const agent = secure
    ? new https.Agent({ keepAlive: true, maxSockets: 64, ...tlsOptions })
    : new http.Agent({ keepAlive: true, maxSockets: 64 });
  return {
    key,
    server,
    namespace: context?.namespace || "default",
    contextName: kc.getCurrentContext(),
    agent,
    ...(secure ? { tls: tlsOptions } : {}),
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
  await closeSessions();
  for (const c of all) {
    try {
      (await c).agent.destroy();
    } catch {
      // a cluster that failed to load has no agent
    }
  }
}
