// The HTTP(S) front of the emulator: authentication, faults, routing and the request log.
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { Socket } from "node:net";
import type { Catalog } from "./catalog";
import { coreVersions, groupDocument, groupList, resourceList, versionInfo } from "./discovery";
import { Faults } from "./faults";
import { openapiGroupVersion, openapiIndex } from "./openapi";
import { RequestLog, type Verb } from "./requestLog";
import { methodNotAllowed, notFoundPath, Resources } from "./resources";
import { parseRoute, type Route } from "./routes";
import { parseSelection } from "./selectors";
import { StatusError, type ObjectStore, type ResourceType } from "./store";
import type { ServingCertificates } from "./tls";
import { breakOff, WatchHub, watchSpecOf } from "./watch";

export interface ApiServerOptions {
  store: ObjectStore;
  catalog: Catalog;
  /** Bearer token every request must carry. */
  token: string;
  /** Serve https with these; plain http without. */
  certificates?: ServingCertificates;
  /** Offer HTTP/2 over TLS (default true); false serves HTTP/1.1 only, as some proxies in front of clusters do. */
  http2?: boolean;
}

/** Request bodies above this are refused, as the apiserver refuses them (3 MiB). */
const MAX_BODY_BYTES = 3 * 1024 * 1024;

function verbOf(method: string | undefined, route: Route | undefined, watch: boolean): Verb {
  const named = route?.kind === "resource" && route.name !== undefined;
  switch (method) {
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      if (watch) return "watch";
      return route?.kind === "resource" && !named ? "list" : "get";
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () =>
      size > MAX_BODY_BYTES
        ? reject(
            new StatusError(
              413,
              "RequestEntityTooLarge",
              `the request body is larger than ${MAX_BODY_BYTES} bytes`,
            ),
          )
        : resolve(Buffer.concat(chunks)),
    );
    req.on("error", reject);
  });
}

function send(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

export class ApiServer {
  readonly requests = new RequestLog();
  readonly faults: Faults;
  private readonly watches: WatchHub;
  private readonly resources: Resources;
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly delays = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(private readonly opts: ApiServerOptions) {
    this.watches = new WatchHub(opts.store, this.requests);
    this.faults = new Faults(this.watches, () => {
      for (const session of this.sessions) session.close();
    });
    this.resources = new Resources(opts.store);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    // Over TLS it speaks HTTP/2 and HTTP/1.1, chosen by ALPN, as the apiserver does; HTTP/2 requests reach the
    // same handler through Node's compatibility API.
    const { certificates } = opts;
    this.server = !certificates
      ? http.createServer(handler)
      : opts.http2 === false
        ? https.createServer({ key: certificates.key, cert: certificates.cert }, handler)
        : (http2.createSecureServer(
            {
              key: certificates.key,
              cert: certificates.cert,
              allowHTTP1: true,
              // Go's default, which the apiserver keeps: a client with more requests than this must queue them.
              settings: { maxConcurrentStreams: 250 },
            },
            handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
          ) as unknown as http.Server);
    this.server.on("session", (session: http2.ServerHttp2Session) => {
      this.sessions.add(session);
      session.once("close", () => this.sessions.delete(session));
    });
    this.server.on("connection", (socket: Socket) => {
      this.requests.connectionAccepted();
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  get url(): string {
    return `${this.opts.certificates ? "https" : "http"}://127.0.0.1:${this.port}`;
  }

  /** Listens on 127.0.0.1; port 0 picks a free port the first time, later calls reuse it. */
  listen(port = this.port): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      // A deep accept queue: a thousand clients connecting at once must queue, not be reset.
      this.server.listen({ port, host: "127.0.0.1", backlog: 4096 }, () => {
        this.server.off("error", reject);
        this.port = (this.server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  /** Stops listening and drops every connection, open watches included. */
  close(): Promise<void> {
    for (const t of this.delays) clearTimeout(t);
    this.delays.clear();
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Releases the store subscription and timers; call after close. */
  dispose(): void {
    this.watches.dispose();
  }

  /** Ends the open watches of a kind that is no longer served. */
  endWatches(type: ResourceType): void {
    this.watches.endStreams(type);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.delays.delete(t);
        resolve();
      }, ms);
      this.delays.add(t);
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
    const time = Date.now();
    const url = new URL(req.url ?? "/", "http://emulator");
    const route = parseRoute(url.pathname);
    const watch =
      route?.kind === "resource" &&
      req.method === "GET" &&
      (route.watchPrefix || ["true", "1"].includes(url.searchParams.get("watch") ?? ""));
    const verb = verbOf(req.method, route, watch);
    try {
      const body = await readBody(req);
      if (this.faults.responseDelayMs) await this.delay(this.faults.responseDelayMs);
      if (req.headers.authorization !== `Bearer ${this.opts.token}`) {
        throw new StatusError(401, "Unauthorized", "Unauthorized");
      }
      const injected = this.faults.takeRejection({ verb, path: url.pathname, watch });
      if (injected) throw injected;
      this.answer(req, res, route, url.searchParams, body, watch);
    } catch (e) {
      this.fail(res, e);
    }
    this.requests.record({
      verb,
      path: url.pathname,
      query: url.search,
      watch,
      code: res.statusCode,
      time,
      httpVersion: req.httpVersion,
      userAgent: req.headers["user-agent"],
    });
  }

  private answer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Route | undefined,
    query: URLSearchParams,
    body: Buffer,
    watch: boolean,
  ) {
    const { catalog } = this.opts;
    if (route?.kind === "resource") {
      const type = catalog.find(route.group, route.version, route.plural);
      if (!type) throw notFoundPath();
      if (watch) {
        if (route.subresource !== undefined) throw notFoundPath();
        const selection = parseSelection(query, route.namespace, route.name);
        const spec = { ...watchSpecOf(type, selection, query), gone: this.faults.takeGoneWatch() };
        return this.watches.open(res, spec, () => this.resources.select(type, selection).items);
      }
      const reply = this.resources.handle({
        method: req.method ?? "GET",
        type,
        route,
        query,
        contentType: req.headers["content-type"] ?? "",
        body,
        userAgent: req.headers["user-agent"],
      });
      return send(res, reply.code, reply.body);
    }
    if (req.method !== "GET") throw methodNotAllowed();
    const document = this.discovery(route);
    if (document === undefined) throw notFoundPath();
    send(res, 200, document);
  }

  private discovery(route: Route | undefined): unknown {
    const { catalog } = this.opts;
    switch (route?.kind) {
      case "version":
        return versionInfo();
      case "health":
        return "ok";
      case "coreVersions":
        return coreVersions(`127.0.0.1:${this.port}`);
      case "groupList":
        return groupList(catalog);
      case "group":
        return groupDocument(catalog, route.group);
      case "resourceList":
        return route.group || route.version === "v1"
          ? resourceList(catalog, route.group, route.version)
          : undefined;
      case "openapiIndex":
        return openapiIndex(catalog);
      case "openapiGroupVersion":
        return openapiGroupVersion(catalog, route.group, route.version);
      default:
        // No /openapi/v2: kubectl reads v3 first and only falls back to v2 when v3 fails.
        return undefined;
    }
  }

  private fail(res: http.ServerResponse, e: unknown) {
    const error =
      e instanceof StatusError
        ? e
        : new StatusError(500, "InternalError", `Internal error occurred: ${(e as Error)?.message ?? e}`, {
            causes: [{ message: String((e as Error)?.message ?? e) }],
          });
    if (res.headersSent) {
      breakOff(res);
      return;
    }
    const retryAfter = error.details?.retryAfterSeconds;
    send(
      res,
      error.code,
      error.toStatus(),
      retryAfter !== undefined ? { "Retry-After": String(retryAfter) } : {},
    );
  }
}
