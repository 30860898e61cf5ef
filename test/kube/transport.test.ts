// How the provider talks to the API server: HTTP/2 over one TLS connection, as kubectl does, with more requests
// at once than the server takes streams; HTTP/1.1 where the server (or a proxy in front of it) offers no HTTP/2.
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { connect, disconnectAll } from "../../provider/kube/cluster";
import { deleteObject, getObject, type KubeObject } from "../../provider/kube/objects";
import { healthCheck } from "../../provider/kube/http2";
import { observe } from "../../provider/kube/watch";
import { startEmulator, type Emulator } from "../emulator";
import { VirtualDiskSnapshot } from "../emulator/kinds/deckhouse";
import { renderKubeconfig } from "../emulator/kubeconfig";
import { servingCertificates } from "../emulator/tls";
import { api, createDiskSnapshot } from "./diskSnapshots";

const ns = "transport-test";

describe("the connection to the API server", () => {
  let emu: Emulator | undefined;
  afterEach(async () => {
    await disconnectAll();
    await emu?.stop();
  });

  /** `count` snapshots created at once, each waited for until it is gone again, through the provider's client. */
  async function createWaitAndDelete(count: number) {
    const cluster = await connect({ kubeconfig: emu!.kubeconfig });
    const names = Array.from({ length: count }, (_, i) => `snap-${i}`);
    const created = await Promise.all(names.map((name) => createDiskSnapshot(cluster, ns, name)));
    const gone = created.map((o) =>
      observe(
        { cluster, api, namespace: ns, name: o.metadata.name },
        o,
        (x) => (x ? undefined : true),
        AbortSignal.timeout(10_000),
      ),
    );
    await Promise.all(names.map((name) => deleteObject(cluster, { api, namespace: ns, name })));
    await Promise.all(gone);
  }

  it("speaks HTTP/2 on one connection, with more requests at once than the server's 250 streams", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    await createWaitAndDelete(300);
    const requests = emu.requests.all();
    assert.equal(requests.filter((r) => r.verb === "create" && r.code === 201).length, 300);
    assert.deepEqual([...new Set(requests.map((r) => r.httpVersion))], ["2.0"]);
    assert.equal(emu.requests.connections(), 1);
  });

  it("moves to a new connection after a GOAWAY, while the waits on the old one go on", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    const cluster = await connect({ kubeconfig: emu.kubeconfig });
    const create = (name: string) => createDiskSnapshot(cluster, ns, name);
    const ready = (o: KubeObject) =>
      observe(
        { cluster, api, namespace: ns, name: o.metadata.name },
        o,
        (x) => (x?.status?.phase === "Ready" ? x.metadata.name : undefined),
        AbortSignal.timeout(10_000),
      );
    const waits = (await Promise.all(["a", "b", "c"].map(create))).map(ready);
    emu.faults.goAway();
    waits.push(...(await Promise.all(["d", "e", "f"].map(create))).map(ready));
    for (const name of ["a", "b", "c", "d", "e", "f"]) {
      const o = emu.store.get(VirtualDiskSnapshot, ns, name)!;
      emu.store.update(VirtualDiskSnapshot, { ...o, status: { phase: "Ready" } }, { subresource: "status" });
    }
    assert.deepEqual(await Promise.all(waits), ["a", "b", "c", "d", "e", "f"]);
    assert.equal(emu.requests.count({ verb: "create", code: 201 }), 6);
    assert.equal(emu.requests.connections(), 2);
  });

  it("gives up a connection that stops answering and carries on over a new one", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    const proxy = await freezableProxy(Number(new URL(emu.url).port));
    const saved = { ...healthCheck };
    Object.assign(healthCheck, { intervalMs: 100, timeoutMs: 200 });
    try {
      const cluster = await connect({ kubeconfig: emu.kubeconfig.replace(emu.url, proxy.url) });
      const o = await createDiskSnapshot(cluster, ns, "a");
      const ready = observe(
        { cluster, api, namespace: ns, name: "a" },
        o,
        (x) => (x?.status?.phase === "Ready" ? x.metadata.name : undefined),
        AbortSignal.timeout(5_000),
      );
      await new Promise((r) => setTimeout(r, 50)); // the watch is open
      proxy.freeze(); // as a NAT that forgot the connection: nothing passes, nothing is closed
      const now = emu.store.get(VirtualDiskSnapshot, ns, "a")!;
      emu.store.update(
        VirtualDiskSnapshot,
        { ...now, status: { phase: "Ready" } },
        { subresource: "status" },
      );
      assert.equal(await ready, "a");
      assert.equal(proxy.connections(), 2);
    } finally {
      Object.assign(healthCheck, saved);
      proxy.close();
    }
  });

  it("speaks HTTP/1.1 when DISABLE_HTTP2 is set, as client-go does", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    process.env.DISABLE_HTTP2 = "1";
    try {
      await createWaitAndDelete(5);
    } finally {
      delete process.env.DISABLE_HTTP2;
    }
    assert.deepEqual([...new Set(emu.requests.all().map((r) => r.httpVersion))], ["1.1"]);
  });

  it("names itself and its version in every request, as kubectl does, over HTTP/2 and HTTP/1.1", async () => {
    const { version } = require("../../package.json") as { version: string };
    const expected = `pulumi-vm-snapshots/${version} (${process.platform}/${process.arch}) node/${process.version}`;
    for (const http2 of [true, false]) {
      emu = await startEmulator({ types: [VirtualDiskSnapshot], http2 });
      await createWaitAndDelete(3);
      assert.deepEqual([...new Set(emu.requests.all().map((r) => r.userAgent))], [expected]);
      await disconnectAll();
      await emu.stop();
      emu = undefined;
    }
  });

  it("is the field manager of what it writes, so the object's managedFields say who set its spec", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot] });
    const cluster = await connect({ kubeconfig: emu.kubeconfig });
    await createDiskSnapshot(cluster, ns, "owned");
    const stored = emu.store.get(VirtualDiskSnapshot, ns, "owned")!;
    assert.deepEqual(
      stored.metadata.managedFields.map((m: { manager: string; operation: string }) => [
        m.manager,
        m.operation,
      ]),
      [["pulumi-vm-snapshots", "Update"]],
    );
  });

  it("speaks HTTP/1.1 to a server that offers no HTTP/2", async () => {
    emu = await startEmulator({ types: [VirtualDiskSnapshot], http2: false });
    await createWaitAndDelete(20);
    const requests = emu.requests.all();
    assert.equal(requests.filter((r) => r.verb === "delete").length, 20);
    assert.deepEqual([...new Set(requests.map((r) => r.httpVersion))], ["1.1"]);
  });

  // Rancher and other proxies serve a cluster's API below a path of their own (https://rancher/k8s/clusters/c-1).
  for (const protocol of ["HTTP/2", "HTTP/1.1"]) {
    it(`keeps the path of a server URL that has one, over ${protocol}`, async () => {
      const proxy = await prefixedServer();
      if (protocol === "HTTP/1.1") process.env.DISABLE_HTTP2 = "1";
      try {
        for (const server of [`${proxy.url}/k8s/clusters/c-1`, `${proxy.url}/k8s/clusters/c-1/`]) {
          const kubeconfig = renderKubeconfig({
            url: server,
            token: "t",
            namespace: ns,
            caCert: proxy.caCert,
          });
          const cluster = await connect({ kubeconfig });
          const found = await getObject(cluster, { api, namespace: ns, name: "snap" });
          assert.equal(found?.metadata.name, "snap");
          await disconnectAll();
        }
      } finally {
        delete process.env.DISABLE_HTTP2;
        proxy.close();
      }
      const path = `/k8s/clusters/c-1/apis/virtualization.deckhouse.io/v1alpha2/namespaces/${ns}/virtualdisksnapshots/snap`;
      assert.deepEqual(proxy.paths, [path, path]);
      assert.deepEqual(proxy.versions, protocol === "HTTP/2" ? ["2.0", "2.0"] : ["1.1", "1.1"]);
    });
  }
});

/** A TLS server that records the path of every request and answers each with the same object. */
async function prefixedServer() {
  const { caCert, cert, key } = await servingCertificates();
  const paths: string[] = [];
  const versions: string[] = [];
  const server = http2.createSecureServer({ cert, key, allowHTTP1: true }, (req, res) => {
    paths.push(req.url);
    versions.push(req.httpVersion);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "VirtualDiskSnapshot", metadata: { name: "snap", namespace: ns } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    caCert,
    paths,
    versions,
    close: () => server.close(),
  };
}

/** A TCP relay to the emulator whose open connections can be frozen: nothing passes, nothing is closed. */
async function freezableProxy(port: number) {
  const pairs: [net.Socket, net.Socket][] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    for (const s of [client, upstream]) s.on("error", () => {});
    client.pipe(upstream).pipe(client);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    connections: () => pairs.length,
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    close() {
      server.close();
      for (const pair of pairs) for (const s of pair) s.destroy();
    },
  };
}
