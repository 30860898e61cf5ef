// The shared watch: one watch connection per (cluster, group/version/resource, namespace) in the process,
// and every waiting resource multiplexes onto it. It starts from the resourceVersion the caller already
// holds (no extra GET), resumes after a cut, relists on 410 Gone, and closes when nobody waits.
import type { Cluster } from "./cluster";
import {
  apiVersionOf,
  collectionPath,
  explain,
  getObject,
  listObjects,
  type ApiKind,
  type KubeObject,
} from "./objects";
import type { Answer } from "./http2";
import { ApiError, open, readAnswer, retryDelayMs, type Opened } from "./request";
import { eventObject, readHead, type Span, type WatchHead } from "./watchLine";

/** What happened to a watch, named so progress lines and errors can say exactly that. */
export type WatchOutcome =
  | "opened"
  | "event"
  | "cut" // the stream ended or broke; resume from the last resourceVersion
  | "expired" // 410 Gone: the resourceVersion is too old; relist
  | "refused" // the server answered an error status; retry with back-off
  | "closed"; // nobody waits any more

export interface WatchTarget {
  cluster: Cluster;
  api: ApiKind;
  namespace: string;
  name: string;
}

/**
 * Calls `visit` with the object as known now and after every later change (undefined once it is gone),
 * until `visit` returns a value, which resolves the promise. `known` is the object as the caller last
 * saw it (a create or delete response); without it the object is read first.
 */
export function observe<T>(
  target: WatchTarget,
  known: KubeObject | undefined,
  visit: (object: KubeObject | undefined) => T | undefined,
  signal: AbortSignal,
): Promise<T> {
  const key = `${target.cluster.key}|${apiVersionOf(target.api)}/${target.api.plural}|${target.namespace}`;
  let watch = watches.get(key);
  if (!watch) {
    watch = new CollectionWatch(key, target.cluster, target.api, target.namespace);
    watches.set(key, watch);
  }
  return watch.observe(target.name, known, visit, signal);
}

/** Counters for tests and the benchmark. */
export const watchStats = { opened: 0, open: 0, peak: 0, relists: 0, resumes: 0, gets: 0, parsed: 0 };

/** How long a watch stays open after its last waiter left, so a following resource reuses it. */
const LINGER_MS = 2_000;

const watches = new Map<string, CollectionWatch>();

interface Waiter {
  name: string;
  seen: bigint; // resourceVersion of the newest state already visited; -1 for none
  visit(object: KubeObject | undefined, rv: bigint): void;
  fail(error: Error): void;
}

const rvFrom = (text: string | undefined): bigint => {
  try {
    return BigInt(text ?? -1);
  } catch {
    return -1n; // resourceVersions are opaque; a non-numeric one is never trusted as newer
  }
};
const rvOf = (o: KubeObject | undefined) => rvFrom(o?.metadata?.resourceVersion);
/** Whether a state at `rv` is newer than what the waiter saw (it saw nothing yet: -1). */
const isNewTo = (w: Waiter, rv: bigint) => w.seen === -1n || rv > w.seen;

/** An object's newest known state: undefined once gone, or the watch line it came in until someone reads it. */
interface Latest {
  rv: bigint;
  object: KubeObject | undefined;
  line?: string;
  managedFields?: Span;
}

/** One line of the watch stream: its head, and the object when the line had to be parsed to read the head. */
interface Change extends WatchHead {
  line: string;
  object?: KubeObject & { code?: number; message?: string };
}

function changeOf(line: string): Change | undefined {
  const head = readHead(line);
  if (head) return { ...head, line };
  try {
    const event = JSON.parse(line);
    const meta = event?.object?.metadata;
    return {
      type: event.type,
      name: meta?.name,
      resourceVersion: meta?.resourceVersion,
      line,
      object: event.object,
    };
  } catch {
    return undefined;
  }
}

/** The object a change carries, parsing its line if that was not done yet; undefined if the line is not JSON. */
function objectOf(change: {
  line?: string;
  managedFields?: Span;
  object?: KubeObject;
}): KubeObject | undefined {
  if (change.object === undefined && change.line !== undefined) {
    try {
      change.object = eventObject(change.line, change.managedFields);
      watchStats.parsed++;
    } catch {
      return undefined;
    }
    change.line = undefined;
  }
  return change.object;
}

class CollectionWatch {
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly latest = new Map<string, Latest>();
  private sessionStart: bigint | undefined; // events after this resourceVersion are all in `latest`
  private lastRV: string | undefined;
  private req: Opened | undefined;
  private connecting = false;
  private failures = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  lastProblem: string | undefined;

  constructor(
    private readonly key: string,
    private readonly cluster: Cluster,
    private readonly api: ApiKind,
    private readonly namespace: string,
  ) {}

  observe<T>(
    name: string,
    known: KubeObject | undefined,
    visit: (object: KubeObject | undefined) => T | undefined,
    signal: AbortSignal,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const waiter: Waiter = {
        name,
        seen: -1n,
        visit: (object, rv) => {
          if (!isNewTo(waiter, rv)) return;
          waiter.seen = rv;
          let result: T | undefined;
          try {
            result = visit(object);
          } catch (e) {
            finish();
            return reject(e);
          }
          if (result !== undefined) {
            finish();
            resolve(result);
          }
        },
        fail: (error) => {
          finish();
          reject(error);
        },
      };
      const onAbort = () => {
        finish();
        reject(signal.reason);
      };
      const finish = () => {
        signal.removeEventListener("abort", onAbort);
        this.remove(waiter);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.add(waiter);
      if (known) waiter.visit(known, rvOf(known));
      if (!this.has(waiter)) return; // settled by the known state alone
      const cached = this.latest.get(name);
      // A cached line that is not JSON has the object read instead (by show).
      const read = !!cached && cached.rv > waiter.seen && !this.show(name, cached, [waiter]);
      if (!this.has(waiter)) return;
      if (!read) this.catchUp(waiter, known);
      // A session whose connection is down with no retry pending (after a fatal answer) connects again.
      if (this.sessionStart !== undefined && !this.req && !this.connecting && !this.retryTimer)
        this.connect();
    });
  }

  /** Starts the watch from what the caller saw, or reads the object once if the watch may have missed changes. */
  private catchUp(waiter: Waiter, known: KubeObject | undefined) {
    const knownRV = rvOf(known);
    if (this.sessionStart === undefined && known && knownRV >= 0n) {
      this.start(String(knownRV));
    } else if (!known || knownRV < 0n || (this.sessionStart !== undefined && knownRV < this.sessionStart)) {
      // Changes between what the caller saw and the watch's start could be missed: read it once.
      this.readOnce(waiter);
    }
  }

  private has(w: Waiter) {
    return this.waiters.get(w.name)?.has(w) ?? false;
  }

  private add(w: Waiter) {
    clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    let set = this.waiters.get(w.name);
    if (!set) this.waiters.set(w.name, (set = new Set()));
    set.add(w);
  }

  private remove(w: Waiter) {
    const set = this.waiters.get(w.name);
    if (!set?.delete(w)) return;
    if (!set.size) this.waiters.delete(w.name);
    if (!this.waiters.size && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => this.close(), LINGER_MS);
      this.lingerTimer.unref();
    }
  }

  private readOnce(w: Waiter) {
    watchStats.gets++;
    const ref = { api: this.api, namespace: this.namespace, name: w.name };
    getObject(this.cluster, ref).then(
      (object) => {
        if (!this.has(w)) return;
        // A GET of a gone object has no resourceVersion; order it after anything the waiter saw.
        const rv = object ? rvOf(object) : w.seen + 1n;
        w.visit(object, rv);
        if (this.has(w) && this.sessionStart === undefined) this.start(object?.metadata.resourceVersion);
      },
      (e) => this.fail(e),
    );
  }

  private start(fromRV: string | undefined) {
    if (this.req || this.connecting) return;
    if (fromRV === undefined) return this.relist();
    this.sessionStart = BigInt(fromRV);
    this.lastRV = fromRV;
    this.connect();
  }

  private async connect() {
    if (this.req || this.connecting || !this.waiters.size) return;
    this.connecting = true;
    const timeoutSeconds = 240 + Math.floor(Math.random() * 60); // rotate like client-go, staggered
    const path =
      `${collectionPath(this.api, this.namespace)}?watch=1&allowWatchBookmarks=true` +
      `&resourceVersion=${encodeURIComponent(this.lastRV ?? "")}&timeoutSeconds=${timeoutSeconds}`;
    let res: Answer;
    try {
      this.req = await open(this.cluster, { method: "GET", path });
      res = this.req.answer;
    } catch (e) {
      this.connecting = false;
      return this.retry("cut", e instanceof Error ? e.message : String(e));
    }
    this.connecting = false;
    if (res.statusCode !== 200) {
      const err = await readAnswer(this.cluster, res).then(
        () => new ApiError(res.statusCode ?? 0, "UnexpectedAnswer", "the watch was not opened"),
        (e: ApiError) => e,
      );
      this.req = undefined;
      if (res.statusCode === 410) return this.relist();
      if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) return this.fail(err);
      return this.retry("refused", `HTTP ${res.statusCode} ${err.reason}: ${err.serverMessage}`);
    }
    watchStats.opened++;
    watchStats.open++;
    watchStats.peak = Math.max(watchStats.peak, watchStats.open);
    const req = this.req!;
    let buffer = "";
    // Changes are shown once per turn of the event loop, each object's newest only: one read of the socket
    // brings many HTTP/2 frames, each a 'data' event of its own, and a controller's steps written together
    // are then seen at their last. A line is parsed only if someone waits for its object.
    let newest = new Map<string, Change>();
    let scheduled = false;
    const flush = () => {
      scheduled = false;
      const changes = newest;
      newest = new Map();
      this.deliver(changes);
    };
    let ended = false;
    const end = (problem?: string) => {
      if (ended) return;
      ended = true;
      flush();
      watchStats.open--;
      if (this.req === req) this.req = undefined;
      req.cancel();
      if (problem === "expired") return this.relist();
      if (this.waiters.size) {
        watchStats.resumes++;
        if (problem) return this.retry("cut", problem);
        this.connect(); // a normal rotation: resume at once
      }
    };
    res.body.setEncoding("utf8");
    res.body.on("data", (chunk: string) => {
      buffer += chunk;
      let from = 0;
      let nl: number;
      while ((nl = buffer.indexOf("\n", from)) >= 0) {
        const line = buffer.slice(from, nl);
        from = nl + 1;
        if (!line.trim()) continue;
        const change = changeOf(line);
        if (!change) return end("the watch stream sent a line that is not JSON"); // resumes from the line before
        if (change.type === "ERROR") {
          const status = objectOf(change) as Change["object"];
          return end(status?.code === 410 ? "expired" : `watch error: ${status?.message ?? "unknown"}`);
        }
        this.failures = 0;
        if (change.resourceVersion) this.lastRV = change.resourceVersion;
        if (change.type === "BOOKMARK" || change.name === undefined) continue;
        newest.delete(change.name);
        newest.set(change.name, change);
      }
      buffer = buffer.slice(from);
      if (!scheduled && newest.size) {
        scheduled = true;
        setImmediate(flush);
      }
    });
    res.body.on("end", () => end());
    res.body.on("error", (e) => end(`the watch connection broke (${e.message})`));
    res.body.on("close", () => end(ended ? undefined : "the watch connection closed"));
  }

  /** Records each change and shows it to the object's waiters. */
  private deliver(changes: Map<string, Change>): void {
    for (const [name, change] of changes) {
      const rv = rvFrom(change.resourceVersion);
      const entry: Latest =
        change.type === "DELETED"
          ? { object: undefined, rv }
          : change.object === undefined
            ? { object: undefined, rv, line: change.line, managedFields: change.managedFields }
            : { object: change.object, rv };
      this.latest.set(name, entry);
      const set = this.waiters.get(name);
      if (set) this.show(name, entry, set);
    }
  }

  /**
   * Shows an object's newest state to `waiters`, parsing its line first if it is still text. A line whose head
   * read well but whose rest is not JSON is forgotten and the object read instead (the watch has moved past it):
   * false then.
   */
  private show(name: string, entry: Latest, waiters: Iterable<Waiter>): boolean {
    // Taken before any visit, which may remove a waiter. The event of a create's or delete's own change carries
    // what its answer did: it is not parsed again for that waiter.
    const fresh: Waiter[] = [];
    for (const w of waiters) if (isNewTo(w, entry.rv)) fresh.push(w);
    if (!fresh.length) return true;
    const state = entry.line === undefined ? entry.object : objectOf(entry);
    if (entry.line !== undefined) {
      this.latest.delete(name);
      for (const w of fresh) this.readOnce(w);
      return false;
    }
    for (const w of fresh) w.visit(state, entry.rv);
    return true;
  }

  private async relist() {
    if (this.connecting) return;
    this.connecting = true;
    watchStats.relists++;
    try {
      const list = await listObjects(this.cluster, this.api, this.namespace);
      const rv = BigInt(list.metadata.resourceVersion);
      const present = new Set<string>();
      for (const o of list.items) {
        present.add(o.metadata.name);
        this.latest.set(o.metadata.name, { object: o, rv: rvOf(o) });
      }
      for (const name of new Set([...this.latest.keys(), ...this.waiters.keys()])) {
        if (!present.has(name)) this.latest.set(name, { object: undefined, rv });
      }
      this.sessionStart = rv;
      this.lastRV = list.metadata.resourceVersion;
      this.connecting = false;
      for (const [name, set] of this.waiters) {
        const l = this.latest.get(name)!;
        for (const w of [...set]) w.visit(l.object, l.rv);
      }
      this.connect();
    } catch (e) {
      this.connecting = false;
      this.retry("refused", e instanceof Error ? e.message : String(e));
    }
  }

  private retry(outcome: WatchOutcome, problem: string) {
    this.lastProblem = `${outcome}: ${problem}`;
    if (!this.waiters.size || this.retryTimer) return;
    this.failures++;
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = undefined;
        this.connect();
      },
      retryDelayMs(Math.min(this.failures, 6)),
    );
    this.retryTimer.unref();
  }

  /** A failure no retry can fix (credentials, permissions, kind not served): every waiter gets it. */
  private async fail(e: unknown) {
    const ref = { api: this.api, namespace: this.namespace, name: [...this.waiters.keys()][0] ?? "" };
    const err = await explain(this.cluster, e, "watch", ref);
    for (const set of [...this.waiters.values()]) for (const w of [...set]) w.fail(err);
    // Continuity is lost: the next waiter starts a new session from what it knows.
    this.sessionStart = undefined;
    this.latest.clear();
  }

  private close() {
    if (this.waiters.size) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.req?.cancel();
    this.req = undefined;
    this.latest.clear();
    this.sessionStart = undefined;
    watches.delete(this.key);
  }
}
