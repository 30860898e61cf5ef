// Cancellation of every wait in the process: SIGINT/SIGTERM (Ctrl-C in `pulumi up`) stops the waits
// promptly; each wait then reports a partial failure, so the objects stay in state and nothing is lost.
let controller = new AbortController();
let installed = false;

export function cancellation(): AbortSignal {
  if (!installed) {
    installed = true;
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        controller.abort(new Error(`cancelled by ${sig}`));
        // Give the aborted waits a moment to answer the engine, then exit as the signal asked.
        setTimeout(() => process.exit(130), 1_000).unref();
      });
    }
  }
  return controller.signal;
}

/** Aborts every wait in progress (tests, and an embedding program that wants to stop). */
export function cancelAll(reason = "cancelled"): void {
  controller.abort(new Error(reason));
  controller = new AbortController();
}
