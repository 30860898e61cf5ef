import assert from "node:assert/strict";
import { parseGoDuration } from "./duration";

const second = 1_000_000_000n;

describe("Go durations (spec.failureDeadline)", () => {
  it("parses what time.ParseDuration parses", () => {
    assert.equal(parseGoDuration("0"), 0n);
    assert.equal(parseGoDuration("90s"), 90n * second);
    assert.equal(parseGoDuration("1h30m"), 5400n * second);
    assert.equal(parseGoDuration("1.5m"), 90n * second);
    assert.equal(parseGoDuration("-2ms"), -2_000_000n);
    assert.equal(parseGoDuration("3µs"), 3_000n);
    assert.equal(parseGoDuration(".5s"), second / 2n);
  });

  it("fails with Go's messages", () => {
    const error = (s: string) => {
      try {
        parseGoDuration(s);
      } catch (e) {
        return (e as Error).message;
      }
      return assert.fail(`${s} parsed`);
    };
    assert.equal(error(""), 'time: invalid duration ""');
    assert.equal(error("x"), 'time: invalid duration "x"');
    assert.equal(error("5"), 'time: missing unit in duration "5"');
    assert.equal(error("1d"), 'time: unknown unit "d" in duration "1d"');
    assert.equal(error(".s"), 'time: invalid duration ".s"');
    assert.equal(error("3000000h"), 'time: invalid duration "3000000h"');
    assert.equal(error('1"s'), 'time: unknown unit "\\"s" in duration "1\\"s"');
    assert.equal(error("1é"), 'time: unknown unit "\\xc3\\xa9" in duration "1\\xc3\\xa9"');
  });
});
