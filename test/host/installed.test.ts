// The package as users get it: the repository's tarball installed in a user's Pulumi project (outside this
// repository, so the host can only load the installed, compiled copy). Every kind walks create, update, replace,
// refresh and delete from there.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { captureResources, type CapturedResource } from "./capture";
import { makeConsumerProject, type ConsumerProject } from "./consumer";
import type { Engine } from "./engine";
import {
  declared,
  everyKind,
  programOf,
  startClusters,
  startWithProgram,
  walkLifecycle,
  type Clusters,
} from "./everyKind";
import { repoRoot } from "./repo";

const installTimeoutMs = 180_000; // npm install from the warm cache; once per run, shared with consumer.test.ts

/** The newest modification time of the files below `dir` whose names end in `suffix`, in ms. */
function newest(dir: string, suffix: string): number {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .reduce(
      (latest, entry) => Math.max(latest, fs.statSync(path.join(entry.parentPath, entry.name)).mtimeMs),
      0,
    );
}

describe("the package installed from its tarball, through the user's project's host", () => {
  let clusters: Clusters;
  let project: ConsumerProject;
  let resources: CapturedResource[];
  let engine: Engine;

  before(async function () {
    this.timeout(installTimeoutMs);
    const built = path.join(repoRoot, "dist", "provider");
    assert.ok(
      fs.existsSync(built) && newest(built, ".js") >= newest(path.join(repoRoot, "provider"), ".ts"),
      "dist/provider is missing or older than provider/: run `npm run build` so the tarball holds the current code",
    );
    const installing = makeConsumerProject({ program: programOf() });
    try {
      clusters = await startClusters();
    } finally {
      project = await installing;
    }
    ({ engine, resources } = await startWithProgram(
      { cwd: project.dir },
      captureResources(project.program, { cwd: project.dir, env: clusters.env }),
    ));
  });
  after(async () => {
    await engine?.host.stop();
    await clusters?.stop();
    await project?.cleanup();
  });

  it("stores each kind's provider as a require of its own module, not as its code", () => {
    for (const kind of everyKind) {
      const text: string = declared(resources, kind).inputs.__provider;
      assert.ok(
        text.includes(`require("pulumi-vm-snapshots/providers/${kind.title}")`),
        `${kind.title}: ${text}`,
      );
      const bytes = Buffer.byteLength(text);
      assert.ok(bytes < 512, `${kind.title}'s provider is ${bytes} bytes`);
    }
  });

  for (const kind of everyKind) {
    it(`${kind.title}: create, update labels, replace by trigger, refresh, delete`, async () => {
      await walkLifecycle(engine, kind, declared(resources, kind), clusters.of(kind.platform).store);
    });
  }
});
