// Creates leave in rounds. The engine hands a `pulumi up`'s creates to the host one at a time, a Check's round trip
// apart, and a request that leaves alone costs the host, and the API server, a socket write, a TLS record and a
// wakeup of its own; so do its answer and the watch events that follow it. A create that starts within a few
// milliseconds of the last one sent waits for the next round and leaves with the others; one that starts alone
// leaves at once.
export const ROUND_MS = 6;

let nextRoundAt = 0;
let pending: Promise<void> | undefined;

/** Resolves when this create may be sent: at once, or with the next round (at most ROUND_MS later). */
export function sendRound(): Promise<void> {
  if (pending) return pending;
  const now = performance.now();
  if (now >= nextRoundAt) {
    nextRoundAt = now + ROUND_MS;
    return Promise.resolve();
  }
  pending = new Promise((resolve) =>
    setTimeout(() => {
      pending = undefined;
      nextRoundAt = performance.now() + ROUND_MS;
      resolve();
    }, nextRoundAt - now),
  );
  return pending;
}
