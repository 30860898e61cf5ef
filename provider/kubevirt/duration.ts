// Go durations ("90s", "1h30m", "0"), the format of KubeVirt's spec.failureDeadline: checked here so a
// typo is reported at preview instead of as the webhook's `time: invalid duration`.
import { z } from "zod";

const MS_PER_UNIT: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "\u00b5s": 1e-3,
  "\u03bcs": 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/y;

/** Milliseconds in a non-negative Go duration; undefined when Go would not parse it. */
export function durationMs(text: string): number | undefined {
  const s = text.startsWith("+") ? text.slice(1) : text;
  if (s === "0") return 0;
  if (!s) return undefined;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const at = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== at) return undefined;
    total += Number(m[1]) * MS_PER_UNIT[m[2]];
  }
  return total;
}

/** A duration input such as failureDeadline: a Go duration string, "0" meaning none. */
export const goDuration = (what: string) =>
  z
    .string({ error: `${what} must be a duration string such as "90s", "5m" or "1h30m" ("0" for none)` })
    .refine((v) => durationMs(v) !== undefined, {
      error: (issue) =>
        `${what} must be a duration such as "90s", "5m" or "1h30m" ("0" for none); got ${JSON.stringify(issue.input)}`,
    });
