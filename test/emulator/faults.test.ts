// Fault switches and the request log, observed through the real client-node.
import assert from "node:assert/strict";
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { startEmulator, StatusError, type Emulator } from "./index";
import { Widget, widget } from "./testKinds";
import { rawRequest, WatchStream } from "./testClient";

const WIDGETS = "/apis/toys.emulator.test/v1/namespaces/default/widgets";

describe("emulator faults and request log", function () {
  let emu: Emulator;
  let kc: KubeConfig;
  let objects: KubernetesObjectApi;
  const streams: WatchStream[] = [];
  let created = 0;

  const watch = async (query: Record<string, string | number | boolean | undefined> = {}) => {
    const s = await WatchStream.open(kc, WIDGETS, {
      resourceVersion: String(emu.store.resourceVersion),
      ...query,
    });
    streams.push(s);
    return s;
  };
  const create = () => objects.create(widget(`w${++created}`));
  const codeOf = async (request: Promise<unknown>) => {
    try {
      await request;
      return 200;
    } catch (e) {
      if (e instanceof ApiException) return e.code;
      throw e;
    }
  };
  /** A full request round trip, after which the server has handled every close before it. */
  const roundTrip = () => rawRequest(emu, "GET", "/version");

  beforeEach(async () => {
    created = 0;
    emu = await startEmulator({ types: [Widget] });
    kc = new KubeConfig();
    kc.loadFromString(emu.kubeconfig);
    objects = kc.makeApiClient(KubernetesObjectApi);
  });

  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await emu.stop();
  });

  describe("watch faults", () => {
    it("cutWatchesAfter({events}) drops every stream after that many events, again and again", async () => {
      emu.faults.cutWatchesAfter({ events: 2 });
      for (let round = 0; round < 2; round++) {
        const stream = await watch();
        await create();
        await create();
        await create();
        assert.ok((await stream.ended) instanceof Error, "dropped, not ended cleanly");
        assert.equal(stream.events.length, 2);
      }
    });

    it("cutWatchesAfter({ms}) drops streams that are already open after that long", async () => {
      const stream = await watch();
      const started = Date.now();
      emu.faults.cutWatchesAfter({ ms: 200 });
      assert.ok((await stream.ended) instanceof Error);
      const took = Date.now() - started;
      assert.ok(took >= 190 && took < 1000, `dropped after ${took} ms`);
    });

    it("cutAllWatchesNow drops every open stream at once", async () => {
      const a = await watch();
      const b = await watch({ fieldSelector: "metadata.name=w1" });
      assert.equal(emu.requests.openWatches(), 2);
      emu.faults.cutAllWatchesNow();
      assert.ok((await a.ended) instanceof Error);
      assert.ok((await b.ended) instanceof Error);
      await roundTrip();
      assert.equal(emu.requests.openWatches(), 0);
    });

    it("goneOnNextWatch(n) answers the next n watches with 410 Expired, then watches work again", async () => {
      emu.faults.goneOnNextWatch(2);
      for (let i = 0; i < 2; i++) {
        const stream = await watch();
        const [event] = await stream.next();
        assert.equal(event.type, "ERROR");
        assert.equal(event.object.code, 410);
        assert.equal(event.object.reason, "Expired");
        assert.equal(await stream.ended, null);
      }
      const stream = await watch();
      await create();
      assert.equal((await stream.next())[0].type, "ADDED");
    });

    it("a client-node informer relists after 410 and keeps its cache whole", async () => {
      await create();
      emu.faults.goneOnNextWatch();
      const listFn = () => objects.list<KubernetesObject>("toys.emulator.test/v1", "Widget", "default");
      const informer = makeInformer(kc, WIDGETS, listFn);
      const added: string[] = [];
      let connects = 0;
      const relisting = new Promise<void>((resolve) =>
        informer.on("connect", () => ++connects === 2 && resolve()),
      );
      const sawSecond = new Promise<void>((resolve) =>
        informer.on("add", (o) => {
          added.push(o.metadata!.name!);
          if (o.metadata?.name === "w2") resolve();
        }),
      );
      await informer.start();
      try {
        await relisting; // the 410 ended the first watch; whatever is created now, the relist or its watch sees
        await create();
        await sawSecond;
        assert.equal(emu.requests.count({ verb: "list" }), 2);
        assert.deepEqual(added, ["w1", "w2"]);
        assert.deepEqual(
          informer.list().map((o) => o.metadata?.name),
          ["w1", "w2"],
        );
      } finally {
        await informer.stop();
      }
    });
  });

  describe("request faults", () => {
    it("throttle answers 429 with Retry-After to the next requests, but not to watches", async () => {
      emu.faults.throttle({ count: 2, retryAfterSeconds: 3 });
      const stream = await watch();
      const res = await rawRequest(emu, "GET", WIDGETS);
      assert.equal(res.status, 429);
      assert.equal(res.headers["retry-after"], "3");
      assert.deepEqual(res.json(), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Too many requests, please try again later.",
        reason: "TooManyRequests",
        details: { retryAfterSeconds: 3 },
        code: 429,
      });
      assert.equal(await codeOf(create()), 429);
      assert.equal(await codeOf(create()), 200);
      assert.equal((await stream.next())[0].object.metadata.name, "w2", "the watch was not throttled");
    });

    it("failNext fails only the requests it matches, count times", async () => {
      emu.faults.failNext({ count: 1, code: 503, match: { verb: "create" } });
      assert.equal((await rawRequest(emu, "GET", WIDGETS)).status, 200);
      const res = await rawRequest(emu, "POST", WIDGETS, { body: widget("x") });
      assert.equal(res.status, 503);
      assert.equal(res.json().reason, "ServiceUnavailable");
      assert.equal(await codeOf(create()), 200);

      emu.faults.failNext({ code: 500, match: { pathIncludes: "/widgets/w1" } });
      assert.equal((await rawRequest(emu, "GET", `${WIDGETS}/other`)).status, 404);
      const failed = await rawRequest(emu, "GET", `${WIDGETS}/w1`);
      assert.equal(failed.status, 500);
      assert.equal(failed.json().reason, "InternalError");
      assert.equal(failed.json().message, "Internal error occurred: injected fault");
      assert.equal((await rawRequest(emu, "GET", `${WIDGETS}/w1`)).status, 200);
    });

    it("failNext can refuse watch requests too", async () => {
      emu.faults.failNext({ code: 500, match: { watch: true } });
      const stream = await watch();
      const err: any = await stream.ended;
      assert.equal(err?.statusCode, 500);
      assert.equal(emu.requests.count({ verb: "watch", code: 500 }), 1);
    });

    it("rejectNext answers with any Status", async () => {
      await create();
      emu.faults.rejectNext({
        error: new StatusError(409, "Conflict", 'Operation cannot be fulfilled on widgets "w1": injected'),
        match: { verb: "patch" },
      });
      const res = await rawRequest(emu, "PATCH", `${WIDGETS}/w1`, {
        contentType: "application/merge-patch+json",
        body: { spec: { size: 2 } },
      });
      assert.equal(res.status, 409);
      assert.equal(res.json().reason, "Conflict");
    });

    it("latency delays every response until switched off", async () => {
      emu.faults.latency({ ms: 200 });
      let started = Date.now();
      await rawRequest(emu, "GET", WIDGETS);
      assert.ok(Date.now() - started >= 195, "delayed");
      emu.faults.latency({ ms: 0 });
      started = Date.now();
      await rawRequest(emu, "GET", WIDGETS);
      assert.ok(Date.now() - started < 150, "no longer delayed");
    });

    it("reset switches every fault off", async () => {
      emu.faults.throttle({ count: 5 });
      emu.faults.failNext({ count: 5, code: 500 });
      emu.faults.latency({ ms: 500 });
      emu.faults.goneOnNextWatch(5);
      emu.faults.cutWatchesAfter({ events: 1 });
      emu.faults.reset();
      const started = Date.now();
      assert.equal((await rawRequest(emu, "GET", WIDGETS)).status, 200);
      assert.ok(Date.now() - started < 400);
      const stream = await watch();
      await create();
      await create();
      const events = await stream.next(2);
      assert.deepEqual(
        events.map((e) => e.type),
        ["ADDED", "ADDED"],
      );
    });
  });

  describe("request log", () => {
    it("records verb, path, status code and time of every request", async () => {
      const before = Date.now();
      await create();
      await objects.read({
        apiVersion: "toys.emulator.test/v1",
        kind: "Widget",
        metadata: { name: "w1", namespace: "default" },
      });
      await codeOf(
        objects.read({
          apiVersion: "toys.emulator.test/v1",
          kind: "Widget",
          metadata: { name: "nope", namespace: "default" },
        }),
      );
      await objects.list("toys.emulator.test/v1", "Widget", "default");
      await rawRequest(emu, "PUT", `${WIDGETS}/w1`, {
        body: {
          ...widget("w1"),
          metadata: { name: "w1", resourceVersion: String(emu.store.resourceVersion) },
        },
      });
      await objects.delete({
        apiVersion: "toys.emulator.test/v1",
        kind: "Widget",
        metadata: { name: "w1", namespace: "default" },
      });
      const verbs = emu.requests.all({ pathIncludes: "/widgets" }).map((r) => `${r.verb} ${r.code}`);
      assert.deepEqual(verbs, ["create 201", "get 200", "get 404", "list 200", "update 200", "delete 200"]);
      const [first] = emu.requests.all({ verb: "create" });
      assert.equal(first.path, WIDGETS);
      assert.ok(first.time >= before && first.time <= Date.now());
      assert.equal(emu.requests.count({ verb: "get", code: 404 }), 1);
      assert.ok(
        emu.requests.count({ pathIncludes: "/apis/toys.emulator.test/v1" }) >= 7,
        "discovery is logged too",
      );
    });

    it("counts open watches and their peak since the last reset", async () => {
      const a = await watch();
      const b = await watch();
      await watch();
      assert.equal(emu.requests.openWatches(), 3);
      assert.equal(emu.requests.count({ watch: true }), 3);
      a.close();
      b.close();
      await a.ended;
      await b.ended;
      await roundTrip();
      assert.equal(emu.requests.openWatches(), 1);
      assert.equal(emu.requests.peakWatches(), 3);
      emu.requests.reset();
      assert.equal(emu.requests.peakWatches(), 1);
      assert.equal(emu.requests.count(), 0);
    });
  });
});
