// Abort signals for what a thousand resources do at once in one host process. Adding a listener to a signal
// that already has n costs O(n), so requests and waits sharing Ctrl-C's signal register in one set per signal;
// and a wait's limit is one controller and one timer, not AbortSignal.timeout and AbortSignal.any (a weak
// reference and a finalization record each, which the collector then walks).

/** Stoppers per signal: one abort listener per signal, however many requests and waits share it. */
const stoppers = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

/** Calls `stop` with the reason when `signal` aborts; returns what to call once that no longer matters. */
export function abortWith(signal: AbortSignal, stop: (reason: unknown) => void): () => void {
  let all = stoppers.get(signal);
  if (!all) {
    const registered = new Set<(reason: unknown) => void>();
    signal.addEventListener(
      "abort",
      () => {
        for (const s of registered) s(signal.reason);
        registered.clear();
      },
      { once: true },
    );
    stoppers.set(signal, (all = registered));
  }
  all.add(stop);
  return () => all.delete(stop);
}

/** A wait's signal: it aborts when `ms` pass or when any of `sources` aborts, whichever is first. */
export interface WaitLimit {
  signal: AbortSignal;
  /** Whether it was the time that ran out. */
  readonly timedOut: boolean;
  /** Ends the wait now: the waiter decided without a change (its signal aborts, timedOut stays false). */
  end(): void;
  /** Stops the timer and releases the sources; call once the wait is over. */
  release(): void;
}

export function waitLimit(ms: number, ...sources: AbortSignal[]): WaitLimit {
  const controller = new AbortController();
  let timedOut = false;
  // Unreferenced, as AbortSignal.timeout's: a pending wait holds the process through its request, not its timer.
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  }, ms).unref();
  const forget = sources.map((source) => {
    if (!source.aborted) return abortWith(source, (reason) => controller.abort(reason));
    controller.abort(source.reason);
    return () => {};
  });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    end() {
      controller.abort(new DOMException("The wait was ended", "AbortError"));
    },
    release() {
      clearTimeout(timer);
      for (const f of forget) f();
    },
  };
}
