// Progress lines are what `pulumi up` shows of a dynamic provider: the host's stdout. A thousand resources
// moving at once would pay a write to that pipe each, so the lines of one turn of the event loop go out
// together, and every lifecycle call flushes the pending lines before it returns.
let pending: string[] = [];

export function say(line: string): void {
  if (!pending.length) setImmediate(flushProgress);
  pending.push(line);
}

export function flushProgress(): void {
  if (!pending.length) return;
  const lines = pending;
  pending = [];
  console.log(lines.join("\n"));
}
