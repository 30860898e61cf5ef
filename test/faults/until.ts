// Waiting for a condition only this process's counters show (no event to subscribe to): checked every few ms,
// bounded, and failing with what was awaited.
export function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (condition()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`not within ${timeoutMs} ms: ${what}`));
      setTimeout(check, 5);
    };
    check();
  });
}
