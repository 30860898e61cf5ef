import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { ROUND_MS, sendRound } from "../../provider/core/rounds";

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

  it("sends creates that start a moment apart together, none later than one round after it started", async () => {
    const started: number[] = [];
    const sent: Promise<number>[] = [];
    // The engine hands creates to the host one Check round trip apart: about a millisecond here.
    for (let i = 0; i < 12; i++) {
      started.push(performance.now());
      sent.push(sendRound().then(() => performance.now()));
      await sleep(1);
    }
    const at = await Promise.all(sent);
    // Creates of one round leave in the same turn of the event loop, microseconds apart.
    const rounds = at.filter((t, i) => i === 0 || t - at[i - 1] > 0.5).length;
    assert.ok(rounds <= 6, `12 creates left in ${rounds} rounds`);
    assert.ok(rounds >= 2, "creates started over ~12 ms all left in one round");
    const slack = 15; // timers on a busy machine
    at.forEach((t, i) =>
      assert.ok(t - started[i] <= ROUND_MS + slack, `create ${i} waited ${(t - started[i]).toFixed(1)} ms`),
    );
  });
});
