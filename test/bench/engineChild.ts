// The engine's stand-in in a process of its own, as `pulumi` is: for each workload the bench sends over IPC it
// drives a fresh dynamic-provider host, and sends back what it measured.
import { runThroughHost, type AnswerOfChild, type HostWorkload } from "./throughHost";

process.on("message", (work: HostWorkload) => {
  runThroughHost(work).then(
    (run) => process.send!({ ...run, createdAt: [...run.createdAt] } satisfies AnswerOfChild),
    (e: Error) => process.send!({ error: e.stack ?? e.message } satisfies AnswerOfChild),
  );
});
process.on("disconnect", () => process.exit(0));
