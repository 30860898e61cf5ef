// Go's Duration.String(), as KubeVirt prints its restore grace period ("5m0s") in condition reasons.
// (Parsing, for failureDeadline, is the emulator's parseGoDuration.)

/** `whole.fraction` with the fraction's trailing zeros dropped, as Go prints durations. */
function decimal(value: number, fractionDigits: number): string {
  const scale = 10 ** fractionDigits;
  const whole = Math.floor(value / scale);
  const fraction = String(value % scale)
    .padStart(fractionDigits, "0")
    .replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** Formats milliseconds like Go's Duration.String(): 300000 → "5m0s", 2000 → "2s", 1500 → "1.5s". */
export function formatGoDuration(ms: number): string {
  const nanos = Math.round(Math.abs(ms) * 1e6);
  const sign = ms < 0 && nanos > 0 ? "-" : "";
  if (nanos === 0) return "0s";
  if (nanos < 1e3) return `${sign}${nanos}ns`;
  if (nanos < 1e6) return `${sign}${decimal(nanos, 3)}µs`;
  if (nanos < 1e9) return `${sign}${decimal(nanos, 6)}ms`;
  const hours = Math.floor(nanos / 3600e9);
  const minutes = Math.floor((nanos % 3600e9) / 60e9);
  const seconds = `${decimal(nanos % 60e9, 9)}s`;
  if (hours) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}
