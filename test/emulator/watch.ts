// Watch streams: newline-delimited JSON events fanned out from the store, indexed so that a
// thousand single-object waiters cost a map lookup per event, not a scan.
import type { ServerResponse } from "node:http";
import { constants, type ServerHttp2Stream } from "node:http2";
import type { WatchControl, WatchCutPolicy } from "./faults";
import type { RequestLog } from "./requestLog";
import { asServed } from "./resources";
import type { Selection } from "./selectors";
import {
  apiVersionOf,
  collectionOf,
  StatusError,
  type KubeObject,
  type ObjectStore,
  type ResourceType,
  type StoreEvent,
} from "./store";

export interface WatchSpec {
  type: ResourceType;
  selection: Selection;
  /** Start with the current objects as ADDED events. */
  initialEvents: boolean;
  /** After the initial events, a BOOKMARK marks their end (sendInitialEvents=true). */
  endBookmark: boolean;
  /** Otherwise replay the events after this version; undefined streams from now on. */
  resourceVersion?: number;
  bookmarks: boolean;
  timeoutSeconds?: number;
  /** Answer with an ERROR event carrying 410 Expired, as for a compacted resourceVersion. */
  gone: boolean;
}

/** Parses the watch query parameters of one request. */
export function watchSpecOf(
  type: ResourceType,
  selection: Selection,
  query: URLSearchParams,
): Omit<WatchSpec, "gone"> {
  const rv = query.get("resourceVersion");
  const resourceVersion = rv === null || rv === "" || rv === "0" ? undefined : Number(rv);
  if (resourceVersion !== undefined && !Number.isInteger(resourceVersion)) {
    throw new StatusError(400, "BadRequest", `resourceVersion: Invalid value: "${rv}": must be an integer`);
  }
  const timeout = query.get("timeoutSeconds");
  const timeoutSeconds = timeout === null ? undefined : Number(timeout);
  if (timeoutSeconds !== undefined && !(timeoutSeconds >= 0)) {
    throw new StatusError(
      400,
      "BadRequest",
      `timeoutSeconds: Invalid value: "${timeout}": must be a number >= 0`,
    );
  }
  const sendInitialEvents = query.get("sendInitialEvents");
  return {
    type,
    selection,
    initialEvents:
      sendInitialEvents === "true" || (sendInitialEvents === null && resourceVersion === undefined),
    endBookmark: sendInitialEvents === "true",
    resourceVersion,
    bookmarks: ["true", "1"].includes(query.get("allowWatchBookmarks") ?? ""),
    timeoutSeconds: timeoutSeconds || undefined,
  };
}

const BOOKMARK_INTERVAL_MS = 1000;
/** A client this far behind is dropped, as the apiserver drops watchers that cannot keep up. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

class Watcher {
  delivered = 0;
  /** A cut is on its way: nothing more is sent. */
  cut = false;
  cutTimer: NodeJS.Timeout | undefined;
  timeoutTimer: NodeJS.Timeout | undefined;

  /** Lines written since the last flush. */
  private pending: string[] = [];
  private flushing: NodeJS.Immediate | undefined;

  constructor(
    readonly res: ServerResponse,
    readonly spec: WatchSpec,
  ) {}

  /**
   * Queues a line; the queue goes out in one write once the event loop has nothing else to run now, as the
   * apiserver flushes a watch when its queue of events is drained rather than after every event.
   */
  write(text: string): void {
    this.pending.push(text);
    this.flushing ??= setImmediate(() => this.flush());
  }

  /** Sends what is queued; `then` runs once it has left. */
  flush(then?: () => void): void {
    clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.res.destroyed) return;
    const text = this.pending.join("");
    this.pending = [];
    if (text || then) this.res.write(text, then);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.drop();
  }

  /** Breaks the stream off, as a lost connection would. */
  drop(): void {
    breakOff(this.res);
  }

  /** Ends the stream cleanly after what is queued. */
  end(text?: string): void {
    if (text) this.pending.push(text);
    this.flush();
    this.res.end();
  }

  get apiVersion() {
    return apiVersionOf(this.spec.type);
  }

  wants(obj: KubeObject): boolean {
    return !this.spec.selection.matches || this.spec.selection.matches(obj);
  }

  /** How this watcher sees a store event; objects entering or leaving its selection become ADDED or DELETED. */
  eventType(e: StoreEvent): string | undefined {
    const now = this.wants(e.object);
    const before = e.previous ? this.wants(e.previous) : now;
    if (e.type !== "MODIFIED") return now || before ? e.type : undefined;
    if (now) return before ? "MODIFIED" : "ADDED";
    return before ? "DELETED" : undefined;
  }
}

interface CollectionWatchers {
  byName: Map<string, Set<Watcher>>;
  any: Set<Watcher>;
}

/**
 * Breaks an answer off as a lost connection would: an HTTP/1.1 connection is closed mid-body, an HTTP/2 stream
 * is reset with an error code (closing it without one would read as a clean end).
 */
export function breakOff(res: ServerResponse): void {
  const stream = (res as unknown as { stream?: ServerHttp2Stream }).stream;
  if (stream) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

const line = (type: string, object: unknown) => JSON.stringify({ type, object }) + "\n";

export class WatchHub implements WatchControl {
  private readonly watchers = new Set<Watcher>();
  private readonly collections = new Map<string, CollectionWatchers>();
  private readonly bookmarking = new Set<Watcher>();
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private cutPolicy: WatchCutPolicy | undefined;
  private truncating = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly log: RequestLog,
  ) {
    this.unsubscribe = store.subscribe((e) => this.dispatch(e));
  }

  /** Starts a stream on `res`; it runs until the client leaves, a timeout, a fault or close. */
  open(res: ServerResponse, spec: WatchSpec, initial: () => KubeObject[]): void {
    res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-cache, private" });
    // Node holds headers until the first body write; clients (kubectl wait) need them now.
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    const w = new Watcher(res, spec);
    this.log.watchOpened();
    res.on("close", () => this.forget(w));
    if (spec.gone) {
      const asked = spec.resourceVersion ?? this.store.resourceVersion;
      const message = `too old resource version: ${asked} (${this.store.resourceVersion + 1})`;
      return this.expire(w, new StatusError(410, "Expired", message));
    }
    try {
      if (spec.initialEvents) {
        for (const obj of initial()) this.send(w, line("ADDED", asServed(obj, spec.type)));
      } else if (spec.resourceVersion !== undefined) {
        const collection = collectionOf(spec.type);
        const events = this.store.eventsSince(
          spec.resourceVersion,
          (e) => e.collection === collection && w.eventType(e) !== undefined,
        );
        for (const e of events) this.send(w, line(w.eventType(e)!, asServed(e.object, spec.type)));
      }
    } catch (e) {
      if (e instanceof StatusError) return this.expire(w, e);
      throw e;
    }
    if (spec.endBookmark) this.bookmark(w, { "k8s.io/initial-events-end": "true" });
    if (res.destroyed) return;
    this.index(w);
    if (spec.timeoutSeconds) w.timeoutTimer = setTimeout(() => w.end(), spec.timeoutSeconds * 1000);
  }

  private expire(w: Watcher, error: StatusError) {
    w.end(line("ERROR", error.toStatus()));
  }

  private index(w: Watcher) {
    const collection = collectionOf(w.spec.type);
    let c = this.collections.get(collection);
    if (!c) this.collections.set(collection, (c = { byName: new Map(), any: new Set() }));
    const name = w.spec.selection.name;
    if (name === undefined) c.any.add(w);
    else {
      let named = c.byName.get(name);
      if (!named) c.byName.set(name, (named = new Set()));
      named.add(w);
    }
    this.watchers.add(w);
    this.arm(w);
    if (w.spec.bookmarks) {
      this.bookmarking.add(w);
      this.bookmarkTimer ??= setInterval(() => this.bookmarkAll(), BOOKMARK_INTERVAL_MS);
    }
  }

  private forget(w: Watcher) {
    clearTimeout(w.cutTimer);
    clearTimeout(w.timeoutTimer);
    this.log.watchClosed();
    if (!this.watchers.delete(w)) return;
    const c = this.collections.get(collectionOf(w.spec.type))!;
    const name = w.spec.selection.name;
    if (name === undefined) c.any.delete(w);
    else {
      const named = c.byName.get(name)!;
      named.delete(w);
      if (!named.size) c.byName.delete(name);
    }
    this.bookmarking.delete(w);
    if (!this.bookmarking.size) {
      clearInterval(this.bookmarkTimer);
      this.bookmarkTimer = undefined;
    }
  }

  private dispatch(e: StoreEvent) {
    const c = this.collections.get(e.collection);
    if (!c) return;
    const lines = new Map<string, string>(); // one serialization per event type and apiVersion
    const deliver = (w: Watcher) => {
      const type = w.eventType(e);
      if (!type) return;
      const key = `${type} ${w.apiVersion}`;
      let text = lines.get(key);
      if (text === undefined) lines.set(key, (text = line(type, asServed(e.object, w.spec.type))));
      this.send(w, text);
    };
    for (const w of c.byName.get(e.object.metadata.name ?? "") ?? []) deliver(w);
    for (const w of c.any) deliver(w);
  }

  private send(w: Watcher, text: string) {
    if (w.res.destroyed || w.cut) return;
    w.delivered++;
    if (this.truncating > 0) {
      this.truncating--;
      text = `${text.slice(0, -4)}\n`;
    }
    const cutAfter = this.cutPolicy?.events;
    if (cutAfter !== undefined && w.delivered >= cutAfter) {
      // Cut abruptly, but after the event left: a real connection loss never un-sends bytes.
      w.cut = true;
      w.write(text);
      w.flush(() => w.drop());
      return;
    }
    w.write(text);
  }

  private bookmark(w: Watcher, annotations?: Record<string, string>) {
    if (w.res.destroyed) return;
    const metadata = {
      resourceVersion: String(this.store.resourceVersion),
      ...(annotations ? { annotations } : {}),
    };
    w.write(line("BOOKMARK", { kind: w.spec.type.kind, apiVersion: w.apiVersion, metadata }));
  }

  private arm(w: Watcher) {
    clearTimeout(w.cutTimer);
    w.delivered = 0;
    const ms = this.cutPolicy?.ms;
    if (ms !== undefined) w.cutTimer = setTimeout(() => w.drop(), ms);
  }

  // WatchControl, for faults.

  cutAll(): void {
    for (const w of this.watchers) w.drop();
  }

  bookmarkAll(): void {
    for (const w of this.bookmarking) this.bookmark(w);
  }

  truncateNextEvents(n: number): void {
    this.truncating = n;
  }

  setCutPolicy(policy: WatchCutPolicy | undefined): void {
    this.cutPolicy = policy;
    for (const w of this.watchers) this.arm(w);
  }

  /** Ends the streams of one served version cleanly, as the apiserver does when a CRD version goes away. */
  endStreams(type: ResourceType): void {
    for (const w of this.watchers) {
      const t = w.spec.type;
      if (t.group === type.group && t.version === type.version && t.plural === type.plural) w.end();
    }
  }

  /** Stops listening to the store; open streams are left to the server, which closes their sockets. */
  dispose(): void {
    this.unsubscribe();
    clearInterval(this.bookmarkTimer);
    this.bookmarkTimer = undefined;
  }
}
