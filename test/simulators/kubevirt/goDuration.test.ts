import assert from "node:assert/strict";
import { formatGoDuration } from "./goDuration";

describe("Go duration text in restore messages", () => {
  it("formats like Go's Duration.String()", () => {
    assert.equal(formatGoDuration(300_000), "5m0s");
    assert.equal(formatGoDuration(2000), "2s");
    assert.equal(formatGoDuration(1500), "1.5s");
    assert.equal(formatGoDuration(90_000), "1m30s");
    assert.equal(formatGoDuration(3_600_000), "1h0m0s");
    assert.equal(formatGoDuration(500), "500ms");
    assert.equal(formatGoDuration(0), "0s");
  });
});
