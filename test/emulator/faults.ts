// Failures a test switches on at runtime to exercise a client's retries, relists and reconnects.
import { StatusError } from "./store";
import { matches, type RequestMatch, type Verb } from "./requestLog";

/** What the watch machinery lets faults do to open streams. */
export interface WatchControl {
  /** Drops every open watch connection without a clean end. */
  cutAll(): void;
  /** Sends a BOOKMARK to every open watch that allowed bookmarks. */
  bookmarkAll(): void;
  /** Cuts every stream (open now or later) by this policy; undefined switches cutting off. */
  setCutPolicy(policy: WatchCutPolicy | undefined): void;
  /** The next `n` events sent lose their last characters, so they are no longer JSON. */
  truncateNextEvents(n: number): void;
}

export interface WatchCutPolicy {
  /** Close each stream this long after it opened (or after the policy was set). */
  ms?: number;
  /** Close each stream after it delivered this many events. */
  events?: number;
}

interface Rejection {
  remaining: number;
  error: () => StatusError;
  match: RequestMatch;
}

export interface RequestInfo {
  verb: Verb;
  path: string;
  watch: boolean;
}

export class Faults {
  private rejections: Rejection[] = [];
  private goneWatches = 0;
  private delayMs = 0;

  constructor(
    private readonly watches: WatchControl,
    /** Asks every HTTP/2 client to take its next requests to a new connection. */
    private readonly sendGoAway: () => void = () => {},
  ) {}

  /**
   * GOAWAY to every HTTP/2 connection, as an apiserver sends when it shuts down or sheds connections: streams
   * already open finish on the old connection, new requests need a new one.
   */
  goAway(): void {
    this.sendGoAway();
  }

  /** Every watch stream (open now or later) is dropped after `ms` or after `events` events, again and again. */
  cutWatchesAfter(policy: WatchCutPolicy): void {
    if (policy.ms === undefined && policy.events === undefined) {
      throw new Error("cutWatchesAfter: give ms or events (or both)");
    }
    this.watches.setCutPolicy({ ...policy });
  }

  cutAllWatchesNow(): void {
    this.watches.cutAll();
  }

  /** The next `n` watch events arrive cut short (a broken proxy): their start is intact, their end missing. */
  truncateNextWatchEvents(n = 1): void {
    this.watches.truncateNextEvents(n);
  }

  /** The next `n` watch requests get an ERROR event with a 410 Expired Status, as for a compacted resourceVersion. */
  goneOnNextWatch(n = 1): void {
    this.goneWatches += n;
  }

  /** The next `count` matching non-watch requests answer 429 TooManyRequests with a Retry-After header. */
  throttle(opts: { count: number; retryAfterSeconds?: number; match?: Omit<RequestMatch, "watch"> }): void {
    const retryAfterSeconds = opts.retryAfterSeconds ?? 1;
    this.rejectNext({
      count: opts.count,
      match: { ...opts.match, watch: false },
      error: () =>
        new StatusError(429, "TooManyRequests", "Too many requests, please try again later.", {
          retryAfterSeconds,
        }),
    });
  }

  /** The next `count` matching requests (watches included unless `match` says otherwise) answer 500 or 503. */
  failNext(opts: { count?: number; code: 500 | 503; match?: RequestMatch; message?: string }): void {
    const message = opts.message ?? "injected fault";
    this.rejectNext({
      count: opts.count ?? 1,
      match: opts.match,
      error: () =>
        opts.code === 500
          ? new StatusError(500, "InternalError", `Internal error occurred: ${message}`, {
              causes: [{ message }],
            })
          : new StatusError(
              503,
              "ServiceUnavailable",
              `the server is currently unable to handle the request (${message})`,
            ),
    });
  }

  /** The next `count` matching requests answer with `error` (any Status: 409 Conflict, 403 Forbidden, ...). */
  rejectNext(opts: { count?: number; error: StatusError | (() => StatusError); match?: RequestMatch }): void {
    const { error } = opts;
    this.rejections.push({
      remaining: opts.count ?? 1,
      match: opts.match ?? {},
      error: typeof error === "function" ? error : () => error,
    });
  }

  /** Every response is delayed by `ms` (0 switches it off). */
  latency(opts: { ms: number }): void {
    this.delayMs = opts.ms;
  }

  /** Every open watch that allowed bookmarks gets a BOOKMARK now. */
  bookmarkNow(): void {
    this.watches.bookmarkAll();
  }

  /** Switches every fault off (open watches keep running). */
  reset(): void {
    this.rejections = [];
    this.goneWatches = 0;
    this.delayMs = 0;
    this.watches.setCutPolicy(undefined);
    this.watches.truncateNextEvents(0);
  }

  // What the server asks before it answers.

  get responseDelayMs(): number {
    return this.delayMs;
  }

  /** The injected error for this request, if one is due; using it counts it down. */
  takeRejection(request: RequestInfo): StatusError | undefined {
    const i = this.rejections.findIndex((r) => matches(request, r.match));
    if (i < 0) return undefined;
    const r = this.rejections[i];
    if (--r.remaining <= 0) this.rejections.splice(i, 1);
    return r.error();
  }

  /** True when this watch request must be answered with 410 Gone. */
  takeGoneWatch(): boolean {
    if (!this.goneWatches) return false;
    this.goneWatches--;
    return true;
  }
}
