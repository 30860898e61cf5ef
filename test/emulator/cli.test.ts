// The emulator CLI: prints where its kubeconfig is, serves a profile, and cleans up on SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { load } from "js-yaml";
import { rawRequest } from "./testClient";

describe("emulator CLI", function () {
  it("serves a profile until SIGTERM, then stops and removes its kubeconfig", async () => {
    const cli = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "cli.ts"), "--port", "0", "--no-tls", "--profile", "none"],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const exited = new Promise<number | null>((resolve) => cli.on("exit", resolve));
    try {
      const [first] = (await once(createInterface({ input: cli.stdout! }), "line")) as [string];
      assert.match(first, /^KUBECONFIG=\/.+/);
      const kubeconfigPath = first.slice("KUBECONFIG=".length);
      const config = load(await readFile(kubeconfigPath, "utf8")) as any;
      const url = config.clusters[0].cluster.server;
      const token = config.users[0].user.token;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

      const secrets = await rawRequest({ url, token }, "GET", "/api/v1/namespaces/default/secrets");
      assert.equal(secrets.status, 200);
      assert.equal(secrets.json().kind, "SecretList");
      const groups = await rawRequest({ url, token }, "GET", "/apis");
      assert.ok(
        !groups.json().groups.some((g: any) => g.name === "virtualization.deckhouse.io"),
        "profile none",
      );

      cli.kill("SIGTERM");
      assert.equal(await exited, 0);
      assert.ok(!existsSync(kubeconfigPath));
    } finally {
      if (cli.exitCode === null) cli.kill("SIGKILL");
      await exited;
    }
  });

  /** Runs the CLI with arguments it refuses; resolves with its exit code and what it wrote to stderr. */
  async function refused(...args: string[]) {
    const cli = spawn(process.execPath, ["--import", "tsx", join(__dirname, "cli.ts"), ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    cli.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => cli.on("exit", resolve));
    return { code, stderr: stderr.trim() };
  }

  it("refuses an unknown profile, naming the ones it has", async () => {
    assert.deepEqual(await refused("--profile", "nope"), {
      code: 1,
      stderr:
        'emulator: --profile "nope" is unknown; profiles: deckhouse-v1.8, deckhouse-v1.10, kubevirt, none',
    });
  });

  it("refuses --controllers for a profile that has no platform to simulate", async () => {
    assert.deepEqual(await refused("--profile", "none", "--controllers"), {
      code: 1,
      stderr: "emulator: --controllers needs a platform's profile: deckhouse-v1.8, deckhouse-v1.10, kubevirt",
    });
  });
});
