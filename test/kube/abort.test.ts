// A wait's limit: its deadline and the signals that stop it (Ctrl-C's, a decision made elsewhere), shared by
// a thousand waits at once without a thousand listeners on the shared signal.
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { waitLimit } from "../../provider/kube/abort";

const aborted = (signal: AbortSignal) =>
  new Promise<unknown>((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));

describe("a wait's limit", () => {
  it("aborts with a TimeoutError when its time runs out, and says so", async () => {
    const limit = waitLimit(20, new AbortController().signal);
    const reason = (await aborted(limit.signal)) as DOMException;
    assert.equal(reason.name, "TimeoutError");
    assert.equal(limit.timedOut, true);
    limit.release();
  });

  it("aborts with a source's reason when the source aborts first, and is not a timeout", async () => {
    const ctrlC = new AbortController();
    const limit = waitLimit(60_000, new AbortController().signal, ctrlC.signal);
    const stopped = aborted(limit.signal);
    ctrlC.abort(new Error("cancelled by SIGINT"));
    assert.equal(((await stopped) as Error).message, "cancelled by SIGINT");
    assert.equal(limit.timedOut, false);
    limit.release();
  });

  it("is aborted at once when a source already was", () => {
    const done = new AbortController();
    done.abort(new Error("decided"));
    const limit = waitLimit(60_000, done.signal);
    assert.equal(limit.signal.aborted, true);
    assert.equal((limit.signal.reason as Error).message, "decided");
    limit.release();
  });

  it("is ended at once by the waiter that decided, which is neither a timeout nor a source's stop", () => {
    const ctrlC = new AbortController();
    const limit = waitLimit(60_000, ctrlC.signal);
    limit.end();
    assert.equal(limit.signal.aborted, true);
    assert.equal(limit.timedOut, false);
    assert.equal(ctrlC.signal.aborted, false);
    limit.release();
  });

  it("once released, neither its time nor its sources abort it", async () => {
    const ctrlC = new AbortController();
    const limit = waitLimit(10, ctrlC.signal);
    limit.release();
    await new Promise((r) => setTimeout(r, 30));
    ctrlC.abort();
    assert.equal(limit.signal.aborted, false);
  });

  it("adds one listener to a signal that a thousand waits share, and stops all of them with it", async () => {
    const ctrlC = new AbortController();
    const limits = Array.from({ length: 1000 }, () => waitLimit(60_000, ctrlC.signal));
    assert.equal(getEventListeners(ctrlC.signal, "abort").length, 1);
    ctrlC.abort(new Error("cancelled by SIGTERM"));
    assert.ok(limits.every((l) => l.signal.aborted && !l.timedOut));
    for (const l of limits) l.release();
  });
});
