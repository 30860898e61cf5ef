import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { captureResources } from "./capture";
import { makeConsumerProject, packPackage, type ConsumerProject } from "./consumer";
import { startEngine, type Engine } from "./engine";
import { repoNode, repoRoot } from "./repo";

const tinyPackageDir = path.join(__dirname, "fixtures", "tiny-package");
const installTimeoutMs = 180_000; // npm install of @pulumi/pulumi from the warm cache; once per run

describe("a user's Pulumi project that installs a dynamic-resource package", () => {
  let project: ConsumerProject;
  let engine: Engine;

  before(async function () {
    this.timeout(installTimeoutMs);
    const tarball = await packPackage(tinyPackageDir);
    project = await makeConsumerProject({
      withRepoPackage: false,
      dependencies: { "tiny-greeting": `file:${tarball}` },
      program: `import { Greeting } from "tiny-greeting";\n\nexport const hello = new Greeting("hello", { name: "world" });\n`,
    });
    engine = await startEngine({ cwd: project.dir });
  });

  after(async () => {
    await engine?.host.stop();
    await project?.cleanup();
  });

  it("serializes the installed class and runs its provider in the project's own host", async () => {
    const [greeting] = await captureResources(project.program, { cwd: project.dir });
    assert.equal(greeting.type, "pulumi-nodejs:dynamic/tiny:Greeting");
    // The provider loads its helper by package name, so the host must resolve it from the project.
    assert.match(greeting.inputs.__provider, /require\("tiny-greeting\/greet"\)/);
    assert.equal(engine.host.pulumiDir, path.join(project.dir, "node_modules", "@pulumi", "pulumi"));

    const state = await engine.up(undefined, engine.urn(greeting.type, greeting.name), greeting.inputs);
    assert.equal(state.id, "world");
    assert.equal(state.outputs.message, "Hello, world!");
    await engine.destroy(state);
  });
});

describe("this repository's package installed in a user's project", () => {
  let project: ConsumerProject;

  before(async function () {
    if (!fs.existsSync(path.join(repoRoot, "dist", "provider", "index.js"))) this.skip(); // needs `npm run build`
    this.timeout(installTimeoutMs);
    project = await makeConsumerProject({
      program: `import * as snapshots from "pulumi-vm-snapshots";\n\nvoid snapshots;\n`,
    });
  });

  after(() => project?.cleanup());

  it("loads from its compiled JS in node_modules with only its declared dependencies", async () => {
    const script = `const entry = require.resolve("pulumi-vm-snapshots"); require(entry); console.log(entry);`;
    const { stdout } = await promisify(execFile)(repoNode, ["-e", script], { cwd: project.dir });
    assert.equal(
      stdout.trim(),
      path.join(project.dir, "node_modules", "pulumi-vm-snapshots", "dist", "provider", "index.js"),
    );
  });
});
