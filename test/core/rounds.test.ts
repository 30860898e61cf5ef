import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { ROUND_MS, sendRound } from "../../provider/core/rounds";

const SLACK_MS = 15; // timers on a busy machine

describe("create rounds", () => {
  // Each test starts after a quiet spell, as a create that nobody else is sending beside.
  beforeEach(() => sleep(ROUND_MS * 2));

  it("sends a create that starts alone at once", async () => {
    let sent = false;
    void sendRound().then(() => (sent = true));
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(sent, true, "a lone create waited for a round");
  });

  it("holds creates that start just after one was sent, and sends them together within a round", async () => {
    await sendRound();
    const started = performance.now();
    const held = Array.from({ length: 10 }, () => sendRound().then(() => performance.now()));
    let turnPassed = false;
    setImmediate(() => (turnPassed = true));
    const at = await Promise.all(held);
    assert.ok(turnPassed, "the creates after the first were sent at once, not held for a round");
    // One round: they leave in the same turn of the event loop, microseconds apart.
    assert.ok(Math.max(...at) - Math.min(...at) < 1, "the held creates left at different moments");
    assert.ok(Math.max(...at) - started <= ROUND_MS + SLACK_MS, "a held create waited longer than a round");
  });

  it("never holds a create longer than a round, however they arrive", async () => {
    const waited: number[] = [];
    // The engine hands creates to the host one Check round trip apart: about a millisecond here.
    for (let i = 0; i < 12; i++) {
      const started = performance.now();
      void sendRound().then(() => waited.push(performance.now() - started));
      await sleep(1);
    }
    await sleep(ROUND_MS + SLACK_MS);
    assert.equal(waited.length, 12);
    for (const w of waited) assert.ok(w <= ROUND_MS + SLACK_MS, `a create waited ${w.toFixed(1)} ms`);
  });
});
