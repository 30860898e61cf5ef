// The emulator speaks the Kubernetes REST and watch protocol well enough for the real client-node.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  ApiException,
  ApisApi,
  CoreApi,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { startEmulator, type Emulator } from "./index";
import { Secret } from "./kinds/core";
import { Gadget, Widget, WidgetV1beta1, widget } from "./testKinds";
import { rawRequest, WatchStream } from "./testClient";

const GROUP = "toys.emulator.test";
const WIDGETS = `/apis/${GROUP}/v1/namespaces/default/widgets`;
const GADGETS = `/apis/${GROUP}/v1/namespaces/default/gadgets`;

/** The Status body and code of a request that must fail. */
async function failure(request: Promise<unknown>): Promise<{ code: number; status: any; headers: any }> {
  try {
    await request;
  } catch (e) {
    if (e instanceof ApiException) {
      return {
        code: e.code,
        status: typeof e.body === "string" ? JSON.parse(e.body) : e.body,
        headers: e.headers,
      };
    }
    throw e;
  }
  throw new Error("expected the request to fail");
}

describe("emulator server", function () {
  let emu: Emulator;
  let kc: KubeConfig;
  let objects: KubernetesObjectApi;
  let custom: CustomObjectsApi;
  const streams: WatchStream[] = [];

  const watch = async (path: string, query: Record<string, string | number | boolean | undefined> = {}) => {
    const s = await WatchStream.open(kc, path, query);
    streams.push(s);
    return s;
  };
  const create = (obj: KubernetesObject) => objects.create(obj);
  const read = (name: string, apiVersion = `${GROUP}/v1`) =>
    objects.read({ apiVersion, kind: "Widget", metadata: { name, namespace: "default" } });
  const mergePatch = (name: string, patch: { metadata?: object; spec?: object }) =>
    objects.patch(
      {
        apiVersion: `${GROUP}/v1`,
        kind: "Widget",
        ...patch,
        metadata: { name, namespace: "default", ...patch.metadata },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    );

  beforeEach(async () => {
    emu = await startEmulator({ types: [Widget, WidgetV1beta1, Gadget, Secret] });
    kc = new KubeConfig();
    kc.loadFromString(emu.kubeconfig);
    objects = kc.makeApiClient(KubernetesObjectApi);
    custom = kc.makeApiClient(CustomObjectsApi);
  });

  afterEach(async () => {
    for (const s of streams.splice(0)) s.close();
    await emu.stop();
  });

  describe("discovery", () => {
    it("lists served groups with all their versions and the GA one preferred", async () => {
      const { groups } = await kc.makeApiClient(ApisApi).getAPIVersions();
      const toys = groups.find((g) => g.name === GROUP);
      assert.deepEqual(
        toys?.versions.map((v) => v.groupVersion),
        [`${GROUP}/v1`, `${GROUP}/v1beta1`],
      );
      assert.equal(toys?.preferredVersion?.version, "v1");
      assert.deepEqual((await kc.makeApiClient(CoreApi).getAPIVersions()).versions, ["v1"]);
    });

    it("describes each kind of a group version, with its status subresource", async () => {
      const list = await custom.getAPIResources({ group: GROUP, version: "v1" });
      assert.equal(list.groupVersion, `${GROUP}/v1`);
      const widgets = list.resources.find((r) => r.name === "widgets");
      assert.equal(widgets?.singularName, "widget");
      assert.equal(widgets?.kind, "Widget");
      assert.equal(widgets?.namespaced, true);
      assert.deepEqual(widgets?.shortNames, ["wd"]);
      assert.deepEqual(widgets?.categories, ["toys"]);
      assert.ok(
        ["create", "delete", "get", "list", "patch", "update", "watch"].every((v) =>
          widgets?.verbs.includes(v),
        ),
      );
      assert.deepEqual(list.resources.find((r) => r.name === "widgets/status")?.verbs, [
        "get",
        "patch",
        "update",
      ]);
      assert.ok(list.resources.some((r) => r.name === "gadgets"));
      assert.ok(!list.resources.some((r) => r.name === "gadgets/status"), "Gadget has no status subresource");
      const core = await rawRequest(emu, "GET", "/api/v1");
      assert.deepEqual(
        core.json().resources.map((r: any) => r.name),
        ["secrets"],
      );
    });

    it("answers 404 with a Status for a group version it does not serve", async () => {
      const res = await rawRequest(emu, "GET", "/apis/nope.example.io/v1");
      assert.equal(res.status, 404);
      assert.deepEqual(res.json(), {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "the server could not find the requested resource",
        reason: "NotFound",
        details: {},
        code: 404,
      });
      assert.equal(
        (await rawRequest(emu, "GET", `/apis/${GROUP}/v2/namespaces/default/widgets`)).status,
        404,
      );
    });

    it("reports a Kubernetes version", async () => {
      const version = await kc.makeApiClient(VersionApi).getCode();
      assert.equal(version.major, "1");
      assert.equal(version.minor, "32");
    });

    it("publishes OpenAPI v3 documents saying PATCH takes fieldValidation (kubectl needs it to apply)", async () => {
      const index = (await rawRequest(emu, "GET", "/openapi/v3")).json();
      const url = index.paths[`apis/${GROUP}/v1`].serverRelativeURL;
      const doc = (await rawRequest(emu, "GET", url)).json();
      const patch = doc.paths[`/apis/${GROUP}/v1/namespaces/{namespace}/widgets/{name}`].patch;
      assert.deepEqual(patch["x-kubernetes-group-version-kind"], {
        group: GROUP,
        version: "v1",
        kind: "Widget",
      });
      assert.ok(patch.parameters.some((p: any) => p.name === "fieldValidation" && p.in === "query"));
    });

    it("stops and starts serving a version at runtime, keeping its objects", async () => {
      await create(widget("kept"));
      emu.unserve(WidgetV1beta1);
      const { groups } = await kc.makeApiClient(ApisApi).getAPIVersions();
      assert.deepEqual(
        groups.find((g) => g.name === GROUP)?.versions.map((v) => v.version),
        ["v1"],
      );
      assert.equal((await rawRequest(emu, "GET", `/apis/${GROUP}/v1beta1`)).status, 404);
      assert.equal(
        (await rawRequest(emu, "GET", `/apis/${GROUP}/v1beta1/namespaces/default/widgets/kept`)).status,
        404,
      );
      emu.serve(WidgetV1beta1);
      const res = await rawRequest(emu, "GET", `/apis/${GROUP}/v1beta1/namespaces/default/widgets/kept`);
      assert.equal(res.json().apiVersion, `${GROUP}/v1beta1`);
    });

    it("ends open watches of a version that stops being served", async () => {
      const stream = await watch(`/apis/${GROUP}/v1beta1/namespaces/default/widgets`);
      emu.unserve(WidgetV1beta1);
      assert.equal(await stream.ended, null);
    });
  });

  describe("create, read, update, patch, delete", () => {
    it("round-trips an object through every verb with the server's metadata", async () => {
      const created = await create(widget("w1", { spec: { size: 3 } }));
      assert.equal(created.metadata?.namespace, "default");
      assert.match(created.metadata?.uid ?? "", /^[0-9a-f-]{36}$/);
      assert.equal(created.metadata?.generation, 1);
      assert.ok(created.metadata?.creationTimestamp);
      const rv1 = Number(created.metadata?.resourceVersion);

      const fetched = await read("w1");
      assert.deepEqual(fetched, created);

      const replaced: any = await objects.replace({ ...fetched, spec: { size: 4 } });
      assert.equal(replaced.spec.size, 4);
      assert.equal(replaced.metadata.generation, 2);
      assert.ok(Number(replaced.metadata.resourceVersion) > rv1);

      const patched: any = await mergePatch("w1", { metadata: { labels: { color: "red" } } });
      assert.deepEqual(patched.metadata.labels, { color: "red" });
      assert.equal(patched.spec.size, 4);

      const list = await objects.list(`${GROUP}/v1`, "Widget", "default");
      assert.equal(list.kind, "WidgetList");
      assert.deepEqual(
        list.items.map((o) => [o.apiVersion, o.metadata?.name]),
        [[`${GROUP}/v1`, "w1"]],
      );

      await objects.delete({ apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name: "w1" } });
      assert.equal((await failure(read("w1"))).code, 404);
    });

    it("answers a delete of a custom resource with the deleted object", async () => {
      await create(widget("gone"));
      const res = await rawRequest(emu, "DELETE", `${WIDGETS}/gone`);
      assert.equal(res.status, 200);
      assert.equal(res.json().kind, "Widget");
      assert.equal(res.json().metadata.name, "gone");
      assert.ok(res.json().metadata.deletionTimestamp);
    });

    it("serves one stored object under every version of its kind", async () => {
      await create(widget("shared"));
      const old: any = await read("shared", `${GROUP}/v1beta1`);
      assert.equal(old.apiVersion, `${GROUP}/v1beta1`);
      const res = await rawRequest(emu, "GET", `/apis/${GROUP}/v1beta1/namespaces/default/widgets`);
      assert.deepEqual(
        res.json().items.map((o: any) => o.apiVersion),
        [`${GROUP}/v1beta1`],
      );
      await custom.createNamespacedCustomObject({
        group: GROUP,
        version: "v1beta1",
        namespace: "default",
        plural: "widgets",
        body: { ...widget("from-beta"), apiVersion: `${GROUP}/v1beta1` },
      });
      assert.equal((await read("from-beta")).apiVersion, `${GROUP}/v1`);
    });

    it("names an object from generateName", async () => {
      const body = { ...widget(""), metadata: { generateName: "snap-", namespace: "default" } };
      const a = await create(body);
      const b = await create(body);
      assert.match(a.metadata?.name ?? "", /^snap-[a-z0-9]{5}$/);
      assert.notEqual(a.metadata?.name, b.metadata?.name);
    });

    it("bumps generation on spec changes only", async () => {
      await create(widget("gen"));
      const labelled: any = await mergePatch("gen", {
        metadata: { labels: { a: "b" }, annotations: { x: "y" } },
      });
      assert.equal(labelled.metadata.generation, 1);
      const statused = await rawRequest(emu, "PATCH", `${WIDGETS}/gen/status`, {
        contentType: "application/merge-patch+json",
        body: { status: { phase: "Ready" } },
      });
      assert.equal(statused.json().metadata.generation, 1);
      const resized: any = await mergePatch("gen", { spec: { size: 2 } });
      assert.equal(resized.metadata.generation, 2);
    });

    it("keeps status and spec apart when the status subresource is enabled", async () => {
      const created: any = await create({ ...widget("st"), status: { phase: "Ready" } } as KubernetesObject);
      assert.equal(created.status, undefined, "status is dropped on create");

      const res = await rawRequest(emu, "PATCH", `${WIDGETS}/st/status`, {
        contentType: "application/merge-patch+json",
        body: { spec: { size: 99 }, status: { phase: "InProgress" } },
      });
      assert.equal(res.status, 200);
      assert.equal(res.json().status.phase, "InProgress");
      assert.equal(res.json().spec.size, 1, "/status ignores spec");

      const replaced: any = await objects.replace({
        ...res.json(),
        spec: { size: 5 },
        status: { phase: "Failed" },
      });
      assert.equal(replaced.status.phase, "InProgress", "the main endpoint ignores status");
      assert.equal(replaced.spec.size, 5);

      await create({ apiVersion: `${GROUP}/v1`, kind: "Gadget", metadata: { name: "g" } });
      assert.equal((await rawRequest(emu, "GET", `${GADGETS}/g/status`)).status, 404);
    });

    it("answers dryRun=All without storing anything", async () => {
      const dry = await objects.create(widget("dry"), undefined, "All");
      assert.equal(dry.metadata?.name, "dry");
      assert.equal(dry.metadata?.resourceVersion, undefined);
      assert.equal((await failure(read("dry"))).code, 404);

      await create(widget("kept"));
      const res = await rawRequest(emu, "DELETE", `${WIDGETS}/kept?dryRun=All`);
      assert.equal(res.status, 200);
      assert.equal((await read("kept")).metadata?.name, "kept");
      assert.equal(emu.requests.count({ verb: "delete" }), 1);
    });

    it("applies JSON patches, and refuses one whose test operation fails", async () => {
      await create(widget("jp", { metadata: { labels: { a: "1", b: "2" } } }));
      const ok = await rawRequest(emu, "PATCH", `${WIDGETS}/jp`, {
        contentType: "application/json-patch+json",
        body: [
          { op: "test", path: "/spec/size", value: 1 },
          { op: "replace", path: "/spec/size", value: 7 },
          { op: "remove", path: "/metadata/labels/a" },
          { op: "add", path: "/metadata/finalizers", value: ["x/y"] },
          { op: "add", path: "/metadata/finalizers/-", value: "x/z" },
        ],
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.json().spec.size, 7);
      assert.deepEqual(ok.json().metadata.labels, { b: "2" });
      assert.deepEqual(ok.json().metadata.finalizers, ["x/y", "x/z"]);

      const failed = await rawRequest(emu, "PATCH", `${WIDGETS}/jp`, {
        contentType: "application/json-patch+json",
        body: [
          { op: "test", path: "/spec/size", value: 1 },
          { op: "replace", path: "/spec/size", value: 8 },
        ],
      });
      assert.equal(failed.status, 422);
      assert.equal(failed.json().reason, "Invalid");
      assert.match(failed.json().message, /test operation 0 failed: "\/spec\/size"/);
      assert.equal(((await read("jp")) as any).spec.size, 7);
    });

    it("lists by label selector and field selector, in one namespace or all", async () => {
      await create(widget("w1", { metadata: { labels: { app: "a", tier: "x" } } }));
      await create(widget("w2", { metadata: { labels: { app: "b" } } }));
      await create(widget("w3"));
      await create(widget("w4", { metadata: { namespace: "other", labels: { app: "a" } } }));
      const names = async (
        labelSelector?: string,
        fieldSelector?: string,
        namespace: string | undefined = "default",
      ) =>
        (
          await objects.list(
            `${GROUP}/v1`,
            "Widget",
            namespace,
            undefined,
            undefined,
            undefined,
            fieldSelector,
            labelSelector,
          )
        ).items
          .map((o) => o.metadata?.name)
          .sort();
      assert.deepEqual(await names("app=a"), ["w1"]);
      assert.deepEqual(await names("app==a"), ["w1"]);
      assert.deepEqual(await names("app!=a"), ["w2", "w3"]);
      assert.deepEqual(await names("app"), ["w1", "w2"]);
      assert.deepEqual(await names("!app"), ["w3"]);
      assert.deepEqual(await names("app in (a, b),tier"), ["w1"]);
      assert.deepEqual(await names("app notin (a)"), ["w2", "w3"]);
      assert.deepEqual(await names(undefined, "metadata.name=w2"), ["w2"]);
      assert.deepEqual(await names(undefined, "metadata.name!=w2"), ["w1", "w3"]);

      const all = (await rawRequest(emu, "GET", `/apis/${GROUP}/v1/widgets?labelSelector=app%3Da`)).json();
      assert.deepEqual(
        all.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`),
        ["default/w1", "other/w4"],
      );
      const other = (
        await rawRequest(emu, "GET", `/apis/${GROUP}/v1/widgets?fieldSelector=metadata.namespace%3Dother`)
      ).json();
      assert.deepEqual(
        other.items.map((o: any) => o.metadata.name),
        ["w4"],
      );
    });

    it("deletes a collection by label selector", async () => {
      await create(widget("d1", { metadata: { labels: { batch: "1" } } }));
      await create(widget("d2", { metadata: { labels: { batch: "1" } } }));
      await create(widget("d3"));
      const res = await rawRequest(emu, "DELETE", `${WIDGETS}?labelSelector=batch%3D1`);
      assert.equal(res.status, 200);
      assert.deepEqual(
        res
          .json()
          .items.map((o: any) => o.metadata.name)
          .sort(),
        ["d1", "d2"],
      );
      const left = await objects.list(`${GROUP}/v1`, "Widget", "default");
      assert.deepEqual(
        left.items.map((o) => o.metadata?.name),
        ["d3"],
      );
    });

    it("treats core kinds as built-ins: unconditional PUT, Status on delete", async () => {
      const core = kc.makeApiClient(CoreV1Api);
      await core.createNamespacedSecret({
        namespace: "default",
        body: { metadata: { name: "s" }, stringData: { k: "v" } },
      });
      const replaced = await core.replaceNamespacedSecret({
        name: "s",
        namespace: "default",
        body: { metadata: { name: "s" }, data: { k: "dg==" } },
      });
      assert.equal(replaced.data?.k, "dg==");
      const res = await rawRequest(emu, "DELETE", "/api/v1/namespaces/default/secrets/s");
      assert.equal(res.status, 200);
      assert.equal(res.json().kind, "Status");
      assert.equal(res.json().status, "Success");
      assert.equal(res.json().details.name, "s");
    });
  });

  describe("errors are Status objects", () => {
    it("404 NotFound names the object, group and resource", async () => {
      const { code, status } = await failure(read("missing"));
      assert.equal(code, 404);
      assert.deepEqual(status, {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `widgets.${GROUP} "missing" not found`,
        reason: "NotFound",
        details: { name: "missing", group: GROUP, kind: "widgets" },
        code: 404,
      });
    });

    it("409 AlreadyExists for a taken name", async () => {
      await create(widget("dup"));
      const { code, status } = await failure(create(widget("dup")));
      assert.equal(code, 409);
      assert.equal(status.reason, "AlreadyExists");
      assert.equal(status.message, `widgets.${GROUP} "dup" already exists`);
      assert.deepEqual(status.details, { name: "dup", group: GROUP, kind: "widgets" });
    });

    it("409 Conflict for a stale resourceVersion on PUT and on merge patch", async () => {
      const created = await create(widget("c"));
      await mergePatch("c", { spec: { size: 2 } });
      const put = await failure(objects.replace({ ...created, spec: { size: 3 } } as KubernetesObject));
      assert.equal(put.code, 409);
      assert.equal(put.status.reason, "Conflict");
      assert.match(
        put.status.message,
        /^Operation cannot be fulfilled on widgets\.toys\.emulator\.test "c": the object has been modified/,
      );
      const patch = await failure(
        mergePatch("c", {
          metadata: { resourceVersion: created.metadata?.resourceVersion },
          spec: { size: 4 },
        }),
      );
      assert.equal(patch.code, 409);
      assert.equal(patch.status.reason, "Conflict");
      assert.equal(((await read("c")) as any).spec.size, 2);
    });

    it("422 Invalid from admission, with the field in its causes", async () => {
      const { code, status } = await failure(create({ ...widget("bad"), spec: {} } as KubernetesObject));
      assert.equal(code, 422);
      assert.equal(status.reason, "Invalid");
      assert.equal(status.message, `Widget.${GROUP} "bad" is invalid: spec.size: Required value`);
      assert.deepEqual(status.details, {
        name: "bad",
        group: GROUP,
        kind: "Widget",
        causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.size" }],
      });
    });

    it("422 Invalid for a PUT of a custom resource without resourceVersion", async () => {
      await create(widget("norv"));
      const res = await rawRequest(emu, "PUT", `${WIDGETS}/norv`, { body: widget("norv") });
      assert.equal(res.status, 422);
      assert.equal(
        res.json().message,
        `Widget.${GROUP} "norv" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      );
      assert.equal(res.json().details.causes[0].field, "metadata.resourceVersion");
    });

    it("400 BadRequest for malformed JSON, bad selectors and a body that names another object", async () => {
      const malformed = await rawRequest(emu, "POST", WIDGETS, { body: '{"kind": "Widget",' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json().reason, "BadRequest");
      assert.match(malformed.json().message, /^the request body is not valid JSON: /);

      await create(widget("named"));
      const other = await rawRequest(emu, "PUT", `${WIDGETS}/named`, { body: widget("other") });
      assert.equal(other.status, 400);
      assert.equal(
        other.json().message,
        "the name of the object (other) does not match the name on the URL (named)",
      );

      const badSelector = await rawRequest(
        emu,
        "GET",
        `${WIDGETS}?labelSelector=${encodeURIComponent("app in a")}`,
      );
      assert.equal(badSelector.status, 400);
      assert.equal(
        badSelector.json().message,
        'labelSelector "app in a": unable to parse requirement "app in a"',
      );
      const badField = await rawRequest(emu, "GET", `${WIDGETS}?fieldSelector=spec.size%3D1`);
      assert.equal(badField.status, 400);
      assert.equal(
        badField.json().message,
        'fieldSelector "spec.size=1": field label not supported: spec.size',
      );

      const noKind = await rawRequest(emu, "POST", WIDGETS, {
        body: { metadata: { name: "x" }, spec: { size: 1 } },
      });
      assert.equal(noKind.status, 400);
      assert.match(noKind.json().message, /^Object 'Kind' is missing in /);
    });

    it("405 MethodNotAllowed for a verb the path does not take", async () => {
      const res = await rawRequest(emu, "POST", `${WIDGETS}/w`, { body: widget("w") });
      assert.equal(res.status, 405);
      assert.equal(res.json().reason, "MethodNotAllowed");
      assert.equal(res.json().message, "the server does not allow this method on the requested resource");
      assert.equal((await rawRequest(emu, "DELETE", `${WIDGETS}/w/status`)).status, 405);
    });

    it("415 UnsupportedMediaType for strategic merge patches of custom resources", async () => {
      await create(widget("smp"));
      const smp = await failure(
        objects.patch(
          { apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name: "smp", namespace: "default" } },
          undefined,
          undefined,
          undefined,
          undefined,
          PatchStrategy.StrategicMergePatch,
        ),
      );
      assert.equal(smp.code, 415);
      assert.equal(smp.status.reason, "UnsupportedMediaType");
      assert.equal(
        smp.status.message,
        "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
      );
    });

    it("401 Unauthorized without the bearer token", async () => {
      for (const token of [null, "wrong"]) {
        const res = await rawRequest(emu, "GET", WIDGETS, { token });
        assert.equal(res.status, 401);
        assert.deepEqual(res.json(), {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: "Unauthorized",
          reason: "Unauthorized",
          code: 401,
        });
      }
      const wrong = new KubeConfig();
      wrong.loadFromString(emu.kubeconfig.replace(emu.token, "not-the-token"));
      assert.equal((await failure(wrong.makeApiClient(ApisApi).getAPIVersions())).code, 401);
    });
  });

  describe("finalizers and garbage collection", () => {
    it("marks an object with finalizers, and deletes it when the last finalizer goes", async () => {
      await create(widget("fin", { metadata: { finalizers: ["toys/hold"] } }));
      const stream = await watch(WIDGETS, { fieldSelector: "metadata.name=fin" });
      await stream.next(); // the synthetic ADDED

      const res = await rawRequest(emu, "DELETE", `${WIDGETS}/fin`);
      assert.equal(res.status, 202);
      assert.ok(res.json().metadata.deletionTimestamp);
      const [marked] = await stream.next();
      assert.equal(marked.type, "MODIFIED");
      assert.ok(marked.object.metadata.deletionTimestamp);
      assert.ok((await read("fin")).metadata?.deletionTimestamp, "still readable while finalizers remain");

      await mergePatch("fin", { metadata: { finalizers: null } });
      const [gone] = await stream.next();
      assert.equal(gone.type, "DELETED");
      assert.equal(gone.object.metadata.name, "fin");
      assert.equal((await failure(read("fin"))).code, 404);
    });

    it("collects dependents of a deleted owner in the background, unless orphaned", async () => {
      const owner = await create(widget("owner"));
      const ownerReferences = [
        {
          apiVersion: `${GROUP}/v1`,
          kind: "Widget",
          name: "owner",
          uid: owner.metadata!.uid!,
          controller: true,
        },
      ];
      await create({
        apiVersion: `${GROUP}/v1`,
        kind: "Gadget",
        metadata: { name: "child", ownerReferences },
      });
      const gadgets = await watch(GADGETS, { resourceVersion: String(emu.store.resourceVersion) });
      await objects.delete({ apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name: "owner" } });
      const [collected] = await gadgets.next();
      assert.equal(collected.type, "DELETED");
      assert.equal(collected.object.metadata.name, "child");

      const keeper = await create(widget("keeper"));
      const refs = [
        { apiVersion: `${GROUP}/v1`, kind: "Widget", name: "keeper", uid: keeper.metadata!.uid! },
      ];
      await create({
        apiVersion: `${GROUP}/v1`,
        kind: "Gadget",
        metadata: { name: "orphan", ownerReferences: refs },
      });
      await gadgets.next(); // its ADDED
      const res = await rawRequest(emu, "DELETE", `${WIDGETS}/keeper`, {
        body: { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Orphan" },
      });
      assert.equal(res.status, 200, res.text);
      // Collection runs right after the owner's delete, before the server reads the next request.
      const orphan = await rawRequest(emu, "GET", `${GADGETS}/orphan`);
      assert.equal(orphan.status, 200, orphan.text);
      assert.deepEqual(gadgets.pending(), []);
    });
  });

  describe("watch", () => {
    it("starts with ADDED events for existing objects when no resourceVersion is given", async () => {
      await create(widget("a"));
      await create(widget("b"));
      for (const query of [{}, { resourceVersion: "0" }]) {
        const stream = await watch(WIDGETS, query);
        const events = await stream.next(2);
        assert.deepEqual(
          events.map((e) => `${e.type} ${e.object.metadata.name}`),
          ["ADDED a", "ADDED b"],
        );
        await create(widget(`live-${streams.length}`));
        assert.equal((await stream.next())[0].type, "ADDED");
      }
    });

    it("resumes from a resourceVersion with no event missed and none repeated", async () => {
      await create(widget("a"));
      const { metadata } = await objects.list(`${GROUP}/v1`, "Widget", "default");
      await create(widget("b"));
      await mergePatch("a", { spec: { size: 2 } });
      await objects.delete({ apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name: "b" } });

      const stream = await watch(WIDGETS, { resourceVersion: metadata?.resourceVersion });
      const replayed = await stream.next(3);
      assert.deepEqual(
        replayed.map((e) => `${e.type} ${e.object.metadata.name}`),
        ["ADDED b", "MODIFIED a", "DELETED b"],
      );
      await create(widget("c"));
      const [live] = await stream.next();
      assert.equal(`${live.type} ${live.object.metadata.name}`, "ADDED c");
      const versions = stream.events.map((e) => Number(e.object.metadata.resourceVersion));
      assert.deepEqual(
        versions,
        [...versions].sort((x, y) => x - y),
        "events arrive in resourceVersion order",
      );
      assert.equal(new Set(versions).size, versions.length, "no event is delivered twice");
    });

    it("replays each version as it was written, status and deletion included", async () => {
      const created = await create(widget("v", { metadata: { finalizers: ["toys.emulator.test/keep"] } }));
      for (const phase of ["InProgress", "Ready"]) {
        const res = await rawRequest(emu, "PATCH", `${WIDGETS}/v/status`, {
          contentType: "application/merge-patch+json",
          body: { status: { phase } },
        });
        assert.equal(res.status, 200, res.text);
      }
      await objects.delete({ apiVersion: `${GROUP}/v1`, kind: "Widget", metadata: { name: "v" } });
      await mergePatch("v", { metadata: { finalizers: null } });

      const stream = await watch(WIDGETS, { resourceVersion: created.metadata?.resourceVersion });
      const replayed = await stream.next(4);
      assert.deepEqual(
        replayed.map((e) => [
          e.type,
          e.object.status?.phase,
          e.object.metadata.deletionTimestamp !== undefined,
          e.object.metadata.finalizers,
        ]),
        [
          ["MODIFIED", "InProgress", false, ["toys.emulator.test/keep"]],
          ["MODIFIED", "Ready", false, ["toys.emulator.test/keep"]],
          ["MODIFIED", "Ready", true, ["toys.emulator.test/keep"]],
          ["DELETED", "Ready", true, undefined],
        ],
      );
    });

    it("sends an ERROR event with 410 Expired for a compacted resourceVersion", async () => {
      const created = await create(widget("old"));
      await mergePatch("old", { spec: { size: 2 } });
      emu.store.compact();
      const stream = await watch(WIDGETS, { resourceVersion: created.metadata?.resourceVersion });
      const [error] = await stream.next();
      assert.equal(error.type, "ERROR");
      assert.equal(error.object.kind, "Status");
      assert.equal(error.object.code, 410);
      assert.equal(error.object.reason, "Expired");
      assert.match(error.object.message, /^too old resource version: \d+ \(\d+\)$/);
      assert.equal(await stream.ended, null);
    });

    it("keeps only historyWindow events for resumption", async () => {
      const small = await startEmulator({ types: [Widget], historyWindow: 2, tls: false });
      try {
        const skc = new KubeConfig();
        skc.loadFromString(small.kubeconfig);
        const api = skc.makeApiClient(KubernetesObjectApi);
        const first = Number((await api.create(widget("h1"))).metadata?.resourceVersion);
        await api.create(widget("h2"));
        await api.create(widget("h3"));
        const stale = await WatchStream.open(skc, WIDGETS, { resourceVersion: String(first - 1) });
        assert.equal((await stale.next())[0].object.code, 410, "the event of h1 is no longer kept");
        const recent = await WatchStream.open(skc, WIDGETS, { resourceVersion: String(first) });
        const events = await recent.next(2);
        assert.deepEqual(
          events.map((e) => e.object.metadata.name),
          ["h2", "h3"],
        );
        recent.close();
      } finally {
        await small.stop();
      }
    });

    it("filters events by field selector and namespace", async () => {
      const stream = await watch(WIDGETS, { fieldSelector: "metadata.name=mine" });
      await create(widget("other"));
      await create(widget("mine", { metadata: { namespace: "elsewhere" } }));
      await create(widget("mine"));
      const [event] = await stream.next();
      assert.equal(event.object.metadata.name, "mine");
      assert.equal(event.object.metadata.namespace, "default");
      assert.deepEqual(stream.pending(), []);
    });

    it("turns label changes into ADDED and DELETED for a label-selected watch", async () => {
      await create(widget("l"));
      const stream = await watch(WIDGETS, { labelSelector: "phase=ready" });
      await mergePatch("l", { metadata: { labels: { phase: "ready" } } });
      await mergePatch("l", { metadata: { annotations: { touched: "yes" } } });
      await mergePatch("l", { metadata: { labels: { phase: "failed" } } });
      await mergePatch("l", { metadata: { annotations: { touched: "again" } } });
      const events = await stream.next(3);
      assert.deepEqual(
        events.map((e) => e.type),
        ["ADDED", "MODIFIED", "DELETED"],
      );
      await create(widget("ready", { metadata: { labels: { phase: "ready" } } }));
      assert.equal(
        (await stream.next())[0].object.metadata.name,
        "ready",
        "the unlabelled change was skipped",
      );
    });

    it("delivers objects with the apiVersion of the watched version", async () => {
      const stream = await watch(`/apis/${GROUP}/v1beta1/namespaces/default/widgets`);
      await create(widget("versioned"));
      assert.equal((await stream.next())[0].object.apiVersion, `${GROUP}/v1beta1`);
    });

    it("sends BOOKMARK events with the current resourceVersion when allowed", async () => {
      const plain = await watch(WIDGETS, { resourceVersion: String(emu.store.resourceVersion) });
      const stream = await watch(WIDGETS, {
        resourceVersion: String(emu.store.resourceVersion),
        allowWatchBookmarks: true,
      });
      await create(widget("b1"));
      await stream.next(); // its ADDED
      const started = Date.now();
      const [bookmark] = await stream.next(1, 2500);
      assert.ok(Date.now() - started < 1500, "bookmarks come about every second");
      assert.equal(bookmark.type, "BOOKMARK");
      assert.equal(bookmark.object.kind, "Widget");
      assert.equal(bookmark.object.metadata.resourceVersion, String(emu.store.resourceVersion));
      emu.faults.bookmarkNow();
      assert.equal((await stream.next(1, 200))[0].type, "BOOKMARK");
      assert.deepEqual(
        plain.events.map((e) => e.type),
        ["ADDED"],
        "no bookmarks unless asked for",
      );
    });

    it("starts with the current objects and an initial-events-end BOOKMARK for sendInitialEvents", async () => {
      await create(widget("i1"));
      const stream = await watch(WIDGETS, {
        sendInitialEvents: true,
        resourceVersionMatch: "NotOlderThan",
        allowWatchBookmarks: true,
      });
      const [added, end] = await stream.next(2);
      assert.equal(`${added.type} ${added.object.metadata.name}`, "ADDED i1");
      assert.equal(end.type, "BOOKMARK");
      assert.equal(end.object.metadata.annotations["k8s.io/initial-events-end"], "true");
    });

    it("ends the stream cleanly after timeoutSeconds", async () => {
      const started = Date.now();
      const stream = await watch(WIDGETS, { timeoutSeconds: 1 });
      assert.equal(await stream.ended, null);
      const took = Date.now() - started;
      assert.ok(took >= 950 && took < 2000, `ended after ${took} ms`);
    });
  });

  describe("lifecycle", () => {
    it("restarts on the same port with its objects, dropping open watches meanwhile", async () => {
      const created = await create(widget("survivor"));
      const stream = await watch(WIDGETS, { resourceVersion: created.metadata?.resourceVersion });
      const url = emu.url;
      const restarting = emu.restart({ downForMs: 300 });
      assert.ok((await stream.ended) instanceof Error, "the watch saw its connection drop");
      await assert.rejects(rawRequest(emu, "GET", WIDGETS), /ECONNREFUSED/);
      await restarting;
      assert.equal(emu.url, url);
      assert.equal((await read("survivor")).metadata?.uid, created.metadata?.uid);
      const next = await create(widget("after"));
      assert.ok(Number(next.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    });

    it("closes open watches and deletes its kubeconfig on stop", async () => {
      const stream = await watch(WIDGETS);
      assert.ok(existsSync(emu.kubeconfigPath));
      await emu.stop();
      assert.ok((await stream.ended) instanceof Error);
      assert.ok(!existsSync(emu.kubeconfigPath));
      await assert.rejects(rawRequest(emu, "GET", WIDGETS), /ECONNREFUSED/);
    });

    it("serves plain http with a kubeconfig that client-node accepts", async () => {
      const plain = await startEmulator({ types: [Widget], tls: false, namespace: "team" });
      try {
        assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const pkc = new KubeConfig();
        pkc.loadFromString(plain.kubeconfig);
        assert.equal(pkc.getContextObject(pkc.getCurrentContext())?.namespace, "team");
        const created = await pkc
          .makeApiClient(KubernetesObjectApi)
          .create(widget("p", { metadata: { namespace: "team" } }));
        assert.equal(created.metadata?.namespace, "team");
      } finally {
        await plain.stop();
      }
    });
  });
});
