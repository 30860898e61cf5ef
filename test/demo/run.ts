// Entry of `npm run demo`. Ctrl-C stops the demo and everything it started; a second Ctrl-C exits at once.
import { runDemo } from "./demo";

const cancel = new AbortController();
process.on("SIGINT", () => {
  if (cancel.signal.aborted) process.exit(130);
  process.stderr.write("\nStopping the demo and everything it started...\n");
  cancel.abort();
});

runDemo({ write: (line) => process.stdout.write(`${line}\n`), signal: cancel.signal }).then(
  () => {
    process.stdout.write("Demo finished: everything it started is stopped.\n");
    process.exitCode = 0;
  },
  (e: Error) => {
    process.stderr.write(cancel.signal.aborted ? "Demo stopped.\n" : `Demo failed: ${e.message}\n`);
    process.exitCode = cancel.signal.aborted ? 130 : 1;
  },
);
