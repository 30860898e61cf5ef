// Progress lines are what `pulumi up` shows of a dynamic provider: the host's stdout. A thousand resources
// moving at once would pay a write to that pipe for each of their steps, so lines wait up to a tenth of a second
// and go out together; every lifecycle call flushes the pending lines before it returns.
const FLUSH_EVERY_MS = 100;

let pending: string[] = [];
let timer: NodeJS.Timeout | undefined;

export function say(line: string): void {
  timer ??= setTimeout(flushProgress, FLUSH_EVERY_MS);
  pending.push(line);
}

export function flushProgress(): void {
  // A lifecycle call's flush disarms the timer, so the next line arms one timer rather than a second.
  clearTimeout(timer);
  timer = undefined;
  if (!pending.length) return;
  const lines = pending;
  pending = [];
  console.log(lines.join("\n"));
}
