// One HTTP request to the API server, with bounded retries for what is worth retrying:
// 429 (honouring Retry-After), 500/502/503/504 and connection failures, backed off with full jitter.
import * as http from "node:http";
import * as https from "node:https";
import type { ClientHttp2Session } from "node:http2";
import type { Cluster } from "./cluster";
import { abortWith } from "./abort";
import { connectedSession, sessionOf, streamRequest, type Answer } from "./http2";
import { parseAnswer } from "./watchLine";

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

/**
 * Who is asking, as kubectl says it: the API server's audit log shows it, and it names this provider as the
 * manager of the fields it writes (the API server takes the manager from it when a request names none).
 */
const USER_AGENT =
  `pulumi-vm-snapshots/${(require("pulumi-vm-snapshots/package.json") as { version: string }).version} ` +
  `(${process.platform}/${process.arch}) node/${process.version}`;

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

/** An answer being received, and how to stop it. */
export interface Opened {
  answer: Answer;
  /** Stops the request (a watch nobody needs any more). */
  cancel(): void;
}

/** Opens a request and returns the answer for the caller to read or stream (watches). */
export async function open(
  cluster: Cluster,
  opts: Pick<RequestOptions, "method" | "path" | "body" | "contentType" | "signal">,
): Promise<Opened> {
  const base = await cluster.requestOptions();
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string | number> = {
    Accept: "application/json",
    "User-Agent": USER_AGENT,
    ...(base.headers as object),
  };
  // Basic auth only where no token is set, as Node's own `auth` option does.
  if (base.auth && !headers.Authorization)
    headers.Authorization = `Basic ${Buffer.from(base.auth).toString("base64")}`;
  if (payload) {
    headers["Content-Type"] = opts.contentType ?? "application/json";
    headers["Content-Length"] = payload.length;
  }
  let session = connectedSession(cluster);
  if (!session) {
    try {
      const connecting = sessionOf(cluster, CONNECT_TIMEOUT_MS);
      session = await (opts.signal ? untilAborted(connecting, opts.signal) : connecting);
    } catch (e) {
      throw unreachable(cluster, e as NodeJS.ErrnoException, false, opts.signal);
    }
  }
  if (opts.signal?.aborted) throw opts.signal.reason;
  const request = { method: opts.method, path: opts.path, headers, payload };
  return session
    ? overHttp2(cluster, session, request, opts.signal)
    : overHttp1(cluster, base, request, opts.signal);
}

interface Outgoing {
  method: string;
  /** The API path, below the server URL's own path (a proxy's prefix). */
  path: string;
  headers: Record<string, string | number>;
  payload?: Buffer;
}

/** The server URL's path, which every API path goes below (a Rancher or proxy prefix), per server. */
const prefixes = new Map<string, string>();
function serverPrefix(server: string): string {
  let prefix = prefixes.get(server);
  if (prefix === undefined) prefixes.set(server, (prefix = new URL(server).pathname.replace(/\/+$/, "")));
  return prefix;
}

/** A failure to get an answer: status 0, which `request` retries. `sent`: the server may have acted on it. */
function unreachable(cluster: Cluster, e: NodeJS.ErrnoException, sent: boolean, signal?: AbortSignal) {
  if (signal?.aborted)
    return Object.assign(new Error(String(signal.reason?.message ?? signal.reason)), { sent });
  return Object.assign(
    new ApiError(0, e.code ?? "NetworkError", `cannot reach ${cluster.server}: ${e.code ?? e.message}`),
    { sent },
  );
}

function overHttp2(
  cluster: Cluster,
  session: ClientHttp2Session,
  request: Outgoing,
  signal?: AbortSignal,
): Promise<Opened> {
  let sent = false;
  let opened: ReturnType<typeof streamRequest>;
  try {
    opened = streamRequest(
      session,
      { ...request, path: serverPrefix(cluster.server) + request.path },
      () => (sent = true),
    );
  } catch (e) {
    // The session was told to go away a moment ago: nothing left, and the retry opens a new connection.
    return Promise.reject(unreachable(cluster, e as NodeJS.ErrnoException, false, signal));
  }
  const { answer, cancel } = opened;
  const forget = signal && abortWith(signal, cancel);
  return answer.then(
    (a) => {
      if (forget) a.body.once("close", forget);
      return { answer: a, cancel };
    },
    (e: NodeJS.ErrnoException) => {
      forget?.();
      throw unreachable(cluster, e, sent, signal);
    },
  );
}

function overHttp1(
  cluster: Cluster,
  base: https.RequestOptions,
  request: Outgoing,
  signal?: AbortSignal,
): Promise<Opened> {
  const url = new URL(cluster.server + request.path);
  const secure = url.protocol === "https:";
  let sent = false;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      { method: request.method, headers: request.headers, agent: base.agent },
      (res) =>
        resolve({
          answer: {
            statusCode: res.statusCode ?? 0,
            statusMessage: res.statusMessage,
            headers: res.headers,
            body: res,
          },
          cancel: () => req.destroy(),
        }),
    );
    if (signal)
      req.once(
        "close",
        abortWith(signal, (reason) => req.destroy(reason as Error)),
      );
    req.once("socket", (s) => {
      if (!s.connecting) return void (sent = true); // a kept-alive socket is connected already
      s.once(secure ? "secureConnect" : "connect", () => (sent = true));
      // A TCP connect that never completes (unroutable address) must not hang a `pulumi up`.
      req.setTimeout(CONNECT_TIMEOUT_MS, () =>
        req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
      );
      s.once("connect", () => req.setTimeout(0));
    });
    req.on("error", (e: NodeJS.ErrnoException) => reject(unreachable(cluster, e, sent, signal)));
    req.end(request.payload);
  });
}

/** `promise`, or its rejection with the signal's reason once `signal` aborts (the work goes on unwaited). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const forget = abortWith(signal, reject);
    promise.then(resolve, reject).finally(forget);
  });
}

async function once<T>(cluster: Cluster, opts: RequestOptions): Promise<T> {
  const { answer } = await open(cluster, opts);
  return readAnswer<T>(cluster, answer);
}

/** Reads an answer to its end: the parsed body of a success, or an ApiError with the server's Status. */
export async function readAnswer<T>(cluster: Cluster, res: Answer): Promise<T> {
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    res.body.on("data", (c: Buffer) => chunks.push(c));
    res.body.on("end", () => {
      ended = true;
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    res.body.on("error", (e: NodeJS.ErrnoException) =>
      reject(
        new ApiError(0, e.code ?? "NetworkError", `connection to ${cluster.server} broke: ${e.message}`),
      ),
    );
    // Closed before its end: the connection went while the answer was on its way.
    res.body.on("close", () => {
      if (!ended)
        reject(
          new ApiError(0, "NetworkError", `connection to ${cluster.server} broke before the answer ended`),
        );
    });
  });
  const status = res.statusCode ?? 0;
  let body: any;
  try {
    body = text ? parseAnswer(text) : undefined;
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
