// HTTP/2 to the API server, as kubectl and client-go speak to it: one TLS connection per cluster carries every
// request and watch of the process, so a thousand waits share one connection, and each request costs the host
// less CPU than over HTTP/1.1. A server that does not offer h2 (a proxy in front of the API server, say) is
// spoken to over HTTP/1.1 instead, and that is remembered for the cluster.
import type { IncomingHttpHeaders } from "node:http";
import * as http2 from "node:http2";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Cluster } from "./cluster";

/**
 * Flow-control windows: a watch carrying a thousand objects' events must not wait for a window update every
 * 64 KiB (the protocol's default), which made waits queue behind one another; client-go uses windows as large.
 */
const STREAM_WINDOW = 16 * 1024 * 1024;
const CONNECTION_WINDOW = 64 * 1024 * 1024;

/**
 * How often a connection with requests in flight is asked for a PING, and how long the answer may take before the
 * connection is given up (client-go's health check: 30 s and 15 s). One connection carries every request, so one
 * that died silently (a NAT or load balancer forgot it) must not hold them all until TCP gives up.
 */
export const healthCheck = { intervalMs: 30_000, timeoutMs: 15_000 };

/** A cluster's connection: an h2 session, or undefined when the server speaks HTTP/1.1 only. */
const sessions = new Map<string, Promise<http2.ClientHttp2Session | undefined>>();
const http1Only = new Set<string>();
/** The sessions that are connected, so a request on one need not wait on a promise first. */
const connected = new Map<string, http2.ClientHttp2Session>();
/** Streams open per session: a session with none does not keep the process alive. */
const openStreams = new WeakMap<http2.ClientHttp2Session, number>();

/** The cluster's HTTP/2 session if it is connected and takes new streams; undefined: ask `sessionOf`. */
export function connectedSession(cluster: Cluster): http2.ClientHttp2Session | undefined {
  const session = connected.get(cluster.key);
  return session && !session.closed && !session.destroyed && !process.env.DISABLE_HTTP2 ? session : undefined;
}

/** The cluster's HTTP/2 session, connecting when there is none; undefined: use HTTP/1.1. */
export async function sessionOf(
  cluster: Cluster,
  connectTimeoutMs: number,
): Promise<http2.ClientHttp2Session | undefined> {
  for (;;) {
    // DISABLE_HTTP2 is client-go's switch (kubectl honours it too), for a proxy whose HTTP/2 misbehaves.
    if (!cluster.tls || process.env.DISABLE_HTTP2 || http1Only.has(cluster.key)) return undefined;
    let cached = sessions.get(cluster.key);
    if (!cached) {
      const connecting = connect(cluster, cluster.tls, connectTimeoutMs);
      // A failed connection is forgotten, so the retry connects again.
      connecting.catch(() => sessions.get(cluster.key) === connecting && sessions.delete(cluster.key));
      sessions.set(cluster.key, (cached = connecting));
    }
    // Every caller waits on the same promise, so requests leave in the order they were made.
    const session = await cached;
    // A session closed by a GOAWAY (Node closes it on one) or broken takes no new streams: connect again.
    if (!session || (!session.closed && !session.destroyed)) return session;
    if (sessions.get(cluster.key) === cached) sessions.delete(cluster.key);
  }
}

/** Connects over TLS offering h2 and HTTP/1.1. */
function connect(
  cluster: Cluster,
  options: tls.ConnectionOptions,
  timeoutMs: number,
): Promise<http2.ClientHttp2Session | undefined> {
  const url = new URL(cluster.server);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      ...options,
      host,
      port: Number(url.port || 443),
      servername: options.servername ?? (isIP(host) ? undefined : host),
      ALPNProtocols: ["h2", "http/1.1"],
    });
    // An address that never answers must not hang a `pulumi up`.
    const timer = setTimeout(
      () => socket.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      if (socket.alpnProtocol !== "h2") {
        http1Only.add(cluster.key);
        socket.destroy();
        return resolve(undefined);
      }
      const session = http2.connect(cluster.server, {
        createConnection: () => socket,
        settings: { initialWindowSize: STREAM_WINDOW },
      });
      session.setLocalWindowSize(CONNECTION_WINDOW);
      session.on("error", () => {}); // every open stream reports the failure to its own request
      session.unref();
      checkHealth(session);
      connected.set(cluster.key, session);
      session.once("close", () => connected.get(cluster.key) === session && connected.delete(cluster.key));
      resolve(session);
    });
  });
}

/** Destroys `session` when a PING sent while requests are in flight gets no answer in time; its requests are retried. */
function checkHealth(session: http2.ClientHttp2Session): void {
  const timer = setInterval(() => {
    if (!openStreams.get(session)) return; // an idle connection is not worth waking
    const deadline = setTimeout(
      () => session.destroy(Object.assign(new Error("no answer to a PING"), { code: "ETIMEDOUT" })),
      healthCheck.timeoutMs,
    );
    deadline.unref();
    try {
      if (!session.ping(() => clearTimeout(deadline))) clearTimeout(deadline); // earlier PINGs still out
    } catch {
      clearTimeout(deadline); // the session is closing
    }
  }, healthCheck.intervalMs);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}

/** What a request got back: the status, headers and body, the same whichever protocol carried it. */
export interface Answer {
  statusCode: number;
  statusMessage?: string;
  headers: IncomingHttpHeaders;
  body: NodeJS.ReadableStream & { setEncoding(encoding: BufferEncoding): unknown };
}

/**
 * Sends one request as an HTTP/2 stream. `onSent` runs once its headers are on their way, so a failure after
 * that may have reached the server. Resolves at the response's headers; `cancel` resets the stream.
 */
export function streamRequest(
  session: http2.ClientHttp2Session,
  request: { method: string; path: string; headers: Record<string, string | number>; payload?: Buffer },
  onSent: () => void,
): { answer: Promise<Answer>; cancel(): void } {
  const headers: http2.OutgoingHttpHeaders = { ":method": request.method, ":path": request.path };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  const stream = session.request(headers, { endStream: !request.payload });
  const count = openStreams.get(session) ?? 0;
  if (count === 0) session.ref(); // a request in flight keeps the process alive
  openStreams.set(session, count + 1);
  // On a connected session the stream is open at once; otherwise when the session connects.
  if (stream.pending) stream.once("ready", onSent);
  else onSent();
  const answer = new Promise<Answer>((resolve, reject) => {
    let answered = false;
    stream.once("response", (h) => {
      answered = true;
      const { ":status": status, ...rest } = h;
      resolve({ statusCode: Number(status), headers: rest as IncomingHttpHeaders, body: stream });
    });
    stream.on("error", reject); // kept: a later error has a listener until the caller attaches its own
    stream.once("close", () => {
      const left = (openStreams.get(session) ?? 1) - 1;
      openStreams.set(session, left);
      if (left === 0 && !session.destroyed) session.unref();
      // Every stream closes; only one closed before its answer is a failure worth an Error (and its stack).
      if (!answered)
        reject(Object.assign(new Error("the stream was reset"), { code: "ERR_HTTP2_STREAM_CANCEL" }));
    });
  });
  if (request.payload) stream.end(request.payload);
  return { answer, cancel: () => stream.close(http2.constants.NGHTTP2_CANCEL) };
}

/** Closes every HTTP/2 connection (tests, and the end of a demo). */
export async function closeSessions(): Promise<void> {
  const all = [...sessions.values()];
  sessions.clear();
  connected.clear();
  http1Only.clear();
  for (const s of all) (await s.catch(() => undefined))?.destroy();
}
