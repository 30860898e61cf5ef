// How the emulator's tests talk to it where @kubernetes/client-node cannot say what they need:
// raw requests with any method, body, media type or token, and watch streams read event by event.
import http from "node:http";
import https from "node:https";
import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Emulator } from "./index";
import { servingCertificates } from "./tls";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json(): any;
}

export interface RawRequestOptions {
  body?: string | object;
  contentType?: string;
  /** null sends no Authorization header. */
  token?: string | null;
  userAgent?: string;
}

export async function rawRequest(
  emu: Pick<Emulator, "url" | "token">,
  method: string,
  path: string,
  opts: RawRequestOptions = {},
): Promise<RawResponse> {
  const url = new URL(path, emu.url);
  const body = typeof opts.body === "object" ? JSON.stringify(opts.body) : opts.body;
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (opts.userAgent !== undefined) headers["User-Agent"] = opts.userAgent;
  if (body !== undefined) {
    headers["Content-Type"] = opts.contentType ?? "application/json";
    // Node sends DELETE bodies unframed unless told their length.
    headers["Content-Length"] = String(Buffer.byteLength(body));
  }
  const secure = url.protocol === "https:";
  const ca = secure ? (await servingCertificates()).caCert : undefined;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(url, { method, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

export interface WatchEvent {
  type: string;
  object: any;
}

/** A client-node watch whose events a test awaits one batch at a time. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  private resolveEnded!: (err: Error | null) => void;
  /** Resolves when the stream ends: null for a clean end, the error for a dropped connection. */
  readonly ended = new Promise<Error | null>((resolve) => (this.resolveEnded = resolve));
  private endedWith?: Error | null;
  private controller?: AbortController;
  private wake: () => void = () => {};
  private read = 0;

  private constructor() {}

  private finish(err: Error | null) {
    this.endedWith = err;
    this.resolveEnded(err);
    this.wake();
  }

  static async open(
    kc: KubeConfig,
    path: string,
    query: Record<string, string | number | boolean | undefined> = {},
  ): Promise<WatchStream> {
    const stream = new WatchStream();
    stream.controller = await new Watch(kc).watch(
      path,
      query,
      (type, object) => {
        stream.events.push({ type, object });
        stream.wake();
      },
      (err) => stream.finish(err ?? null),
    );
    return stream;
  }

  /** The next `count` events not yet taken; fails after `timeoutMs` or when the stream ends first. */
  async next(count = 1, timeoutMs = 3000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length - this.read < count) {
      if (this.endedWith !== undefined) {
        throw new Error(
          `watch ended (${this.endedWith?.message ?? "cleanly"}) after ${this.events.length} events`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} more watch events within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const taken = this.events.slice(this.read, this.read + count);
    this.read += count;
    return taken;
  }

  /** Events received but not taken yet. */
  pending(): WatchEvent[] {
    return this.events.slice(this.read);
  }

  close(): void {
    this.controller?.abort();
  }
}
