// Go's time.ParseDuration, with its exact error messages: KubeVirt decodes spec.failureDeadline with it,
// so an unparsable value reaches the user as `time: invalid duration "x"`.

const nanosecondsPer: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const maxDuration = (1n << 63n) - 1n;

/** time's own quote(): ASCII kept (with \" and \\ escaped), anything else as \xNN bytes. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code < 0x20 || code >= 0x80) {
      for (const byte of Buffer.from(ch, "utf8")) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    } else {
      out += ch === '"' || ch === "\\" ? `\\${ch}` : ch;
    }
  }
  return out + '"';
}

/** Parses a Go duration ("90s", "1h30m", "0") into nanoseconds; throws Go's error message otherwise. */
export function parseGoDuration(text: string): bigint {
  const invalid = () => new Error(`time: invalid duration ${goTimeQuote(text)}`);
  let s = text;
  let negative = false;
  if (s[0] === "-" || s[0] === "+") {
    negative = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0n;
  if (s === "") throw invalid();
  let total = 0n;
  while (s !== "") {
    const number = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, fraction] = [number[1], number[2] ?? ""];
    if (whole === "" && fraction === "") throw invalid(); // no digits, e.g. ".s"
    s = s.slice(number[0].length);
    const unit = /^[^.\d]*/.exec(s)![0];
    if (unit === "") throw new Error(`time: missing unit in duration ${goTimeQuote(text)}`);
    s = s.slice(unit.length);
    const scale = nanosecondsPer[unit];
    if (scale === undefined) {
      throw new Error(`time: unknown unit ${goTimeQuote(unit)} in duration ${goTimeQuote(text)}`);
    }
    const wholePart = BigInt(whole || "0");
    if (wholePart > (1n << 63n) / scale) throw invalid();
    let value = wholePart * scale;
    if (fraction !== "") {
      // Go keeps at most 19 fraction digits and rounds the remainder down.
      const digits = fraction.slice(0, 19);
      value += (BigInt(digits) * scale) / 10n ** BigInt(digits.length);
    }
    total += value;
    if (total > 1n << 63n) throw invalid();
  }
  if (negative) return -total;
  if (total > maxDuration) throw invalid();
  return total;
}
