// Which cluster and credentials a kubeconfig names: read as client-node reads it, whichever way it is
// written, and with client-node's own machinery where credentials come from a plug-in.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import type * as tls from "node:tls";
import { KubeConfig } from "@kubernetes/client-node";
import { dump, load } from "js-yaml";
import { connect, disconnectAll, readKubeconfig } from "../../provider/kube/cluster";
import { deckhouseKind } from "../../provider/deckhouse/api";
import { getObject } from "../../provider/kube/objects";
import { startEmulator, type Emulator } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";

const pem = (label: string) =>
  `-----BEGIN ${label}-----\n${Buffer.from(`${label} bytes`).toString("base64")}\n-----END ${label}-----\n`;
const b64 = (text: string) => Buffer.from(text).toString("base64");

function kubeconfig(cluster: object, user: object, context: object = {}): string {
  return dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "lab", cluster: { server: "https://lab.example:6443/", ...cluster } },
      { name: "other", cluster: { server: "https://other.example:6443" } },
    ],
    users: [
      { name: "me", user },
      { name: "someone", user: { token: "someone-else" } },
    ],
    contexts: [
      { name: "lab", context: { cluster: "lab", user: "me", ...context } },
      { name: "other", context: { cluster: "other", user: "someone" } },
    ],
    "current-context": "lab",
  });
}

/** What a request carries, and how its TLS connections verify and identify. */
function reading(
  server: string,
  namespace: string,
  request: https.RequestOptions,
  tls: https.RequestOptions | tls.ConnectionOptions,
) {
  return {
    server,
    namespace,
    headers: (request.headers ?? {}) as Record<string, string>,
    auth: request.auth,
    ca: tls.ca?.toString(),
    cert: tls.cert?.toString(),
    key: tls.key?.toString(),
    servername: tls.servername,
    rejectUnauthorized: tls.rejectUnauthorized,
  };
}

/** As the provider sets them up: its TLS options are what every connection to the server is opened with. */
async function ours(text: string | undefined, context?: string) {
  const cluster = await connect({ kubeconfig: text, context });
  return reading(cluster.server, cluster.namespace, await cluster.requestOptions(), cluster.tls ?? {});
}

/** The same, as client-node's KubeConfig reads the kubeconfig. */
async function clientNode(kc: KubeConfig, context?: string) {
  if (context) kc.setCurrentContext(context);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const server = kc.getCurrentCluster()!.server.replace(/\/+$/, "");
  return reading(server, kc.getContextObject(kc.getCurrentContext())?.namespace || "default", opts, opts);
}

describe("kubeconfig", function () {
  let dir: string;
  const savedKubeconfig = process.env.KUBECONFIG;

  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), "kubeconfig-test-"))));
  afterEach(async () => {
    await disconnectAll();
    rmSync(dir, { recursive: true, force: true });
    if (savedKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = savedKubeconfig;
  });

  describe("fixed credentials are read as client-node reads them", function () {
    const cases: Record<string, [cluster: object, user: object, context?: object]> = {
      "a token and a CA": [
        { "certificate-authority-data": b64(pem("CA")) },
        { token: "t0ken" },
        { namespace: "prod" },
      ],
      "a client certificate": [
        { "certificate-authority-data": b64(pem("CA")) },
        { "client-certificate-data": b64(pem("CERTIFICATE")), "client-key-data": b64(pem("KEY")) },
      ],
      "no TLS verification, another server name, impersonation": [
        { "insecure-skip-tls-verify": true, "tls-server-name": "api.internal" },
        { token: "t0ken", as: "auditor" },
      ],
      "basic auth": [{}, { username: "admin", password: "pa55" }],
    };
    for (const [name, [cluster, user, context]] of Object.entries(cases)) {
      it(`as text: ${name}`, async () => {
        const text = kubeconfig(cluster, user, context);
        const kc = new KubeConfig();
        kc.loadFromString(text);
        assert.deepEqual(await ours(text), await clientNode(kc));
      });
    }

    it("from KUBECONFIG, with certificate, key, CA and token files named relative to the kubeconfig", async () => {
      writeFileSync(path.join(dir, "ca.crt"), pem("CA"));
      writeFileSync(path.join(dir, "me.crt"), pem("CERTIFICATE"));
      writeFileSync(path.join(dir, "me.key"), pem("KEY"));
      writeFileSync(path.join(dir, "token"), "from-a-file");
      const file = path.join(dir, "config");
      const relative = { "client-certificate": "me.crt", "client-key": "me.key", "token-file": "token" };
      writeFileSync(file, kubeconfig({ "certificate-authority": "ca.crt" }, relative));
      process.env.KUBECONFIG = file;
      const read = await ours(undefined);
      assert.equal(read.ca, pem("CA"));
      assert.equal(read.cert, pem("CERTIFICATE"));
      assert.equal(read.key, pem("KEY"));
      // kubectl reads a relative token-file next to the kubeconfig too (client-node would look in the cwd).
      assert.equal(read.headers.Authorization, "Bearer from-a-file");
      // With the token file named absolutely, client-node reads the same.
      writeFileSync(
        file,
        kubeconfig(
          { "certificate-authority": "ca.crt" },
          { ...relative, "token-file": path.join(dir, "token") },
        ),
      );
      const kc = new KubeConfig();
      kc.loadFromDefault();
      await disconnectAll();
      assert.deepEqual(await ours(undefined), await clientNode(kc));
    });

    it("with a context chosen by name", async () => {
      const text = kubeconfig({}, { token: "mine" });
      const kc = new KubeConfig();
      kc.loadFromString(text);
      const read = await ours(text, "other");
      assert.deepEqual(read, await clientNode(kc, "other"));
      assert.equal(read.headers.Authorization, "Bearer someone-else");
    });
  });

  describe("problems named at preview", function () {
    it("a document that is not a kubeconfig", () => {
      assert.throws(
        () => readKubeconfig({ kubeconfig: "just a sentence" }),
        /Cannot read the kubeconfig input: it is not a YAML mapping/,
      );
    });

    it("an entry without its required field, in client-node's words", () => {
      const broken = load(kubeconfig({}, { token: "t" })) as any;
      delete broken.clusters[0].cluster.server;
      assert.throws(
        () => readKubeconfig({ kubeconfig: dump(broken) }),
        /Cannot read the kubeconfig input: clusters\[0\]\.cluster\.server is missing/,
      );
    });

    it("a secret next to a syntax error never appears in the message", () => {
      const broken = [
        "users:",
        "- name: me",
        "  user:",
        "    auth-provider:",
        "      config:",
        "        client-secret: s3cr3t-value",
        "       bad: indentation",
      ].join("\n");
      assert.throws(
        () => readKubeconfig({ kubeconfig: broken }),
        (e: Error) =>
          !e.message.includes("s3cr3t") && /^Cannot read the kubeconfig input: \S/.test(e.message),
      );
    });

    it("a plain http server, unless TLS verification is explicitly skipped (a local proxy)", () => {
      const http = (cluster: object) =>
        kubeconfig(cluster, { token: "t0ken" }).replace("https://lab.example:6443/", "http://127.0.0.1:8001");
      assert.throws(
        () => readKubeconfig({ kubeconfig: http({}) }),
        /plain http:\/\/ server \(http:\/\/127\.0\.0\.1:8001\) for context "lab": credentials would be sent unencrypted/,
      );
      assert.doesNotThrow(() => readKubeconfig({ kubeconfig: http({ "insecure-skip-tls-verify": true }) }));
    });

    it("no kubeconfig anywhere, outside a pod", () => {
      const saved = { HOME: process.env.HOME, host: process.env.KUBERNETES_SERVICE_HOST };
      delete process.env.KUBECONFIG;
      delete process.env.KUBERNETES_SERVICE_HOST;
      process.env.HOME = dir; // no .kube/config there
      try {
        assert.throws(() => readKubeconfig({}), /No kubeconfig was found: KUBECONFIG is not set/);
      } finally {
        process.env.HOME = saved.HOME;
        if (saved.host !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved.host;
      }
    });
  });

  it("loads the whole Kubernetes client only for a kubeconfig that needs it", () => {
    // A fresh process, as a host is: which of client-node's modules does connecting load?
    const script = (user: object) => `
      const { connect } = require(${JSON.stringify(path.join(__dirname, "../../provider/kube/cluster"))});
      // Only which modules got loaded matters here, not whether the credentials work.
      connect({ kubeconfig: ${JSON.stringify(kubeconfig({}, user))} }).catch(() => {}).then(() => {
        const loaded = Object.keys(require.cache).some((k) => k.endsWith("@kubernetes/client-node/dist/index.js"));
        process.stdout.write(String(loaded));
      });`;
    const run = (user: object) =>
      execFileSync(process.execPath, ["--import", "tsx", "-e", script(user)], { encoding: "utf8" });
    assert.equal(run({ token: "fixed" }), "false");
    assert.equal(run({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: "true" } }), "true");
  });

  describe("credentials from an exec plug-in", function () {
    let emulator: Emulator;
    before(
      async () => (emulator = await startEmulator({ types: [VirtualDiskSnapshot], token: "exec-issued" })),
    );
    after(async () => emulator.stop());

    /** An object that is not there: reading it only shows whether the cluster accepted the credentials. */
    const ref = {
      api: deckhouseKind("VirtualDiskSnapshot", "virtualdisksnapshots"),
      namespace: "default",
      name: "none",
    };

    /** The emulator's kubeconfig with its user's token replaced by a plug-in that prints `token`. */
    function withPlugin(token: string): string {
      const plugin = path.join(dir, "credential.js");
      const credential = {
        apiVersion: "client.authentication.k8s.io/v1",
        kind: "ExecCredential",
        status: { token },
      };
      writeFileSync(plugin, `process.stdout.write(${JSON.stringify(JSON.stringify(credential))});`);
      const doc = load(emulator.kubeconfig) as any;
      doc.users[0].user = {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: process.execPath,
          args: [plugin],
          interactiveMode: "Never",
        },
      };
      return dump(doc);
    }

    it("reaches the cluster with the token the plug-in hands out", async () => {
      const cluster = await connect({ kubeconfig: withPlugin("exec-issued") });
      assert.equal(await getObject(cluster, ref), undefined);
    });

    it("for the context chosen by name, while the current context's user has a fixed token", async () => {
      const doc = load(withPlugin("exec-issued")) as any;
      doc.users.push({ name: "fixed", user: { token: "not-accepted" } });
      doc.contexts.push({ name: "fixed", context: { ...doc.contexts[0].context, user: "fixed" } });
      doc.contexts[0].name = "plugin";
      doc["current-context"] = "fixed";
      const viaPlugin = await connect({ kubeconfig: dump(doc), context: "plugin" });
      assert.equal(await getObject(viaPlugin, ref), undefined);
      const viaToken = await connect({ kubeconfig: dump(doc) });
      await assert.rejects(getObject(viaToken, ref), /401/);
    });

    it("is refused when the plug-in hands out a token the cluster does not accept", async () => {
      const cluster = await connect({ kubeconfig: withPlugin("wrong") });
      await assert.rejects(getObject(cluster, ref), /401/);
    });
  });
});
