// One HTTP request to the API server, with bounded retries for what is worth retrying:
// 429 (honouring Retry-After), 500/502/503/504 and connection failures, backed off with full jitter.
import * as http from "node:http";
import * as https from "node:https";
import type { Cluster } from "./cluster";

export interface KubeStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** An answer from the API server that is not a success, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly serverMessage: string,
    readonly body?: KubeStatus,
  ) {
    super(serverMessage);
  }
}

export interface RequestOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Attempts in total for retryable failures (default 6). */
  attempts?: number;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const BASE_DELAY_MS = 200;
const MAX_DELAY_MS = 5_000;
const CONNECT_TIMEOUT_MS = 15_000;

export async function request<T = any>(cluster: Cluster, opts: RequestOptions): Promise<T> {
  const attempts = opts.attempts ?? 6;
  for (let attempt = 1; ; attempt++) {
    try {
      return await once<T>(cluster, opts);
    } catch (e) {
      if (!(e instanceof ApiError) || attempt >= attempts || opts.signal?.aborted) throw e;
      if (e.status !== 0 && !RETRYABLE.has(e.status)) throw e;
      await sleep(retryDelayMs(attempt, (e as RetryAfter).retryAfterSeconds), opts.signal);
    }
  }
}

interface RetryAfter {
  retryAfterSeconds?: number;
}

/** Full jitter: a random delay up to an exponentially growing cap; Retry-After is a floor. */
export function retryDelayMs(attempt: number, retryAfterSeconds?: number): number {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1));
  const jittered = Math.random() * cap;
  return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", abort);
      resolve();
    }
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}

/** Opens a request and returns the response for the caller to stream (watches). */
export async function open(
  cluster: Cluster,
  opts: Pick<RequestOptions, "method" | "path" | "body" | "contentType" | "signal">,
): Promise<{ req: http.ClientRequest; res: http.IncomingMessage }> {
  const base = await cluster.requestOptions();
  const url = new URL(cluster.server + opts.path);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string | number> = {
    Accept: "application/json",
    ...(base.headers as object),
  };
  if (payload) {
    headers["Content-Type"] = opts.contentType ?? "application/json";
    headers["Content-Length"] = payload.length;
  }
  const lib = url.protocol === "https:" ? https : http;
  if (opts.signal?.aborted) throw opts.signal.reason;
  let sent = false;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      url,
      { method: opts.method, headers, agent: base.agent, auth: base.auth },
      (res) => resolve({ req, res }),
    );
    if (opts.signal) abortWith(opts.signal, req);
    req.once("socket", (s) => {
      if (!s.connecting) return void (sent = true); // a kept-alive socket is connected already
      s.once(url.protocol === "https:" ? "secureConnect" : "connect", () => (sent = true));
      // A TCP connect that never completes (unroutable address) must not hang a `pulumi up`.
      req.setTimeout(CONNECT_TIMEOUT_MS, () =>
        req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
      );
      s.once("connect", () => req.setTimeout(0));
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (opts.signal?.aborted)
        return reject(
          Object.assign(new Error(String(opts.signal.reason?.message ?? opts.signal.reason)), { sent }),
        );
      reject(
        Object.assign(
          new ApiError(0, e.code ?? "NetworkError", `cannot reach ${cluster.server}: ${e.code ?? e.message}`),
          { sent },
        ),
      );
    });
    req.end(payload);
  });
}

/** Requests in flight per signal: one abort listener per signal, however many requests share it. */
const inFlight = new WeakMap<AbortSignal, Set<http.ClientRequest>>();

/**
 * Ends `req` when `signal` aborts. Node's own `signal` option adds a listener per request, and adding one
 * to a signal that already has n listeners costs O(n): a thousand waits sharing Ctrl-C's signal made that
 * quadratic.
 */
function abortWith(signal: AbortSignal, req: http.ClientRequest): void {
  let requests = inFlight.get(signal);
  if (!requests) {
    const all = new Set<http.ClientRequest>();
    signal.addEventListener(
      "abort",
      () => {
        for (const r of all) r.destroy(signal.reason);
        all.clear();
      },
      { once: true },
    );
    inFlight.set(signal, (requests = all));
  }
  requests.add(req);
  req.once("close", () => requests.delete(req));
}

async function once<T>(cluster: Cluster, opts: RequestOptions): Promise<T> {
  const { res } = await open(cluster, opts);
  return readAnswer<T>(cluster, res);
}

/** Reads an answer to its end: the parsed body of a success, or an ApiError with the server's Status. */
export async function readAnswer<T>(cluster: Cluster, res: http.IncomingMessage): Promise<T> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        new ApiError(0, e.code ?? "NetworkError", `connection to ${cluster.server} broke: ${e.message}`),
      ),
    );
  });
  const status = res.statusCode ?? 0;
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (status >= 200 && status < 300) return body as T;
  const s: KubeStatus = body && body.kind === "Status" ? body : {};
  const err = new ApiError(
    status,
    s.reason ?? res.statusMessage ?? "Error",
    s.message ?? (text.slice(0, 200) || `HTTP ${status}`),
    s,
  );
  const retryAfter = Number(res.headers["retry-after"]);
  if (Number.isFinite(retryAfter)) (err as RetryAfter).retryAfterSeconds = retryAfter;
  throw err;
}
