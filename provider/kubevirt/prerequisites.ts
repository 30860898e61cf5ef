// Waiting, before a create, for what the new object needs (a snapshot ready to use, a populated disk):
// creating it earlier only makes the platform retry with back-off, or cut a snapshot of a half-written disk.
import type { KindContext } from "../core/kind";
import { describe, type KubeObject, type ObjectRef } from "../kube/objects";
import { waitLimit } from "../kube/abort";
import { observe } from "../kube/watch";

/** What an object's state means for the wait: go on, give up with a reason, or keep waiting (and why). */
export type Judgement = { done: true } | { fail: string } | { waiting: string };

/**
 * Resolves with the object once `judge` says done; rejects with the reason when it says fail, or when
 * `seconds` pass (naming what was still awaited). `judge` gets undefined while the object does not exist.
 */
export async function prerequisite(
  ctx: KindContext,
  ref: ObjectRef,
  seconds: number,
  judge: (o: KubeObject | undefined) => Judgement,
): Promise<KubeObject | undefined> {
  const timeout = waitLimit(seconds * 1000, ctx.signal);
  let shown = "";
  try {
    const { object } = await observe(
      { cluster: ctx.cluster, ...ref },
      undefined,
      (object) => {
        const j = judge(object);
        if ("done" in j) return { object };
        if ("fail" in j) throw new Error(j.fail);
        if (j.waiting !== shown) ctx.say(`waiting: ${(shown = j.waiting)}`);
        return undefined;
      },
      timeout.signal,
    );
    return object;
  } catch (e) {
    if (!timeout.timedOut) throw e;
    throw new Error(
      `${shown || `${describe(ref)} was not read`} after ${seconds}s, so nothing was created ` +
        "(raise waitTimeoutSeconds to wait longer)",
    );
  } finally {
    timeout.release();
  }
}
