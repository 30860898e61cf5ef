// Field ownership through the REST API, for what kubectl's test does not reach: server-side apply's errors, an
// apply to a status of nothing, ownership two managers share, managedFields surviving other writes, and the
// "Update" entries every other write leaves under its client's name.
import assert from "node:assert/strict";
import { startEmulator, type Emulator } from "./index";
import { KubeConfig } from "@kubernetes/client-node";
import { rawRequest, WatchStream } from "./testClient";
import { Widget, widget } from "./testKinds";

const WIDGETS = "/apis/toys.emulator.test/v1/namespaces/default/widgets";
const APPLY = "application/apply-patch+yaml";

describe("emulator: server-side apply", () => {
  let emu: Emulator;
  beforeEach(async () => (emu = await startEmulator({ types: [Widget] })));
  afterEach(() => emu.stop());

  const apply = (name: string, body: object, query = "fieldManager=alice") =>
    rawRequest(emu, "PATCH", `${WIDGETS}/${name}?${query}`, { body, contentType: APPLY });
  const managers = async (name: string) =>
    (await rawRequest(emu, "GET", `${WIDGETS}/${name}`))
      .json()
      .metadata.managedFields.map((m: { manager: string }) => m.manager)
      .sort();

  it("refuses an apply without a field manager, as the apiserver does", async () => {
    const res = await apply("w", widget("w"), "");
    assert.equal(res.status, 422);
    assert.equal(
      res.json().message,
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    assert.equal((await rawRequest(emu, "GET", `${WIDGETS}/w`)).status, 404, "nothing was created");
  });

  it("answers 404 to an apply of the status of an object that does not exist", async () => {
    const res = await rawRequest(emu, "PATCH", `${WIDGETS}/w/status?fieldManager=alice`, {
      body: { ...widget("w"), status: { phase: "Ready" } },
      contentType: APPLY,
    });
    assert.equal(res.status, 404);
  });

  it("lets two managers share a field they apply with the same value, and neither removes it alone", async () => {
    assert.equal((await apply("w", widget("w", { spec: { size: 3 } }))).status, 201);
    assert.equal((await apply("w", widget("w", { spec: { size: 3 } }), "fieldManager=bob")).status, 200);
    assert.deepEqual(await managers("w"), ["alice", "bob"]);

    const { spec: _s, ...withoutSpec } = widget("w");
    assert.equal((await apply("w", withoutSpec)).status, 200);
    const after = (await rawRequest(emu, "GET", `${WIDGETS}/w`)).json();
    assert.equal(after.spec.size, 3, "bob still applies spec.size");

    const conflict = await apply("w", widget("w", { spec: { size: 4 } }));
    assert.equal(conflict.status, 409);
    assert.deepEqual(conflict.json().details.causes, [
      { reason: "FieldManagerConflict", message: 'conflict with "bob"', field: ".spec.size" },
    ]);
  });

  it("keeps managedFields through a replace or merge patch that leaves them out", async () => {
    await apply("w", widget("w"));
    const current = (await rawRequest(emu, "GET", `${WIDGETS}/w`)).json();
    const { managedFields: _m, ...metadata } = current.metadata;
    const put = await rawRequest(emu, "PUT", `${WIDGETS}/w?fieldManager=alice`, {
      body: { ...current, metadata },
    });
    assert.equal(put.status, 200, put.text);
    const merged = await rawRequest(emu, "PATCH", `${WIDGETS}/w?fieldManager=carol`, {
      body: { metadata: { labels: { a: "b" } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(merged.status, 200, merged.text);
    const entries = merged.json().metadata.managedFields;
    assert.deepEqual(
      entries.map((e: any) => [e.manager, e.operation]),
      [
        ["alice", "Apply"],
        ["carol", "Update"],
      ],
      "the replace changed nothing, so alice has no Update entry; carol's patch added one",
    );
    assert.deepEqual(entries[1].fieldsV1, { "f:metadata": { "f:labels": { "f:a": {} } } });
  });

  it("records every other write as an Update by its client (the User-Agent up to its first slash), field by field", async () => {
    const created = await rawRequest(emu, "POST", WIDGETS, {
      body: widget("w", { metadata: { labels: { team: "db" } }, spec: { size: 2, color: "red" } }),
      userAgent: "pulumi-vm-snapshots/0.1.0 (linux/x64) node/v22.23.3",
    });
    assert.equal(created.status, 201, created.text);
    const [mine] = created.json().metadata.managedFields;
    assert.equal(mine.manager, "pulumi-vm-snapshots");
    assert.equal(mine.operation, "Update");
    assert.equal(mine.apiVersion, "toys.emulator.test/v1");
    assert.match(mine.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(mine.fieldsV1, {
      "f:metadata": { "f:labels": { "f:team": {} } },
      "f:spec": { "f:color": {}, "f:size": {} },
    });

    // The platform's controller writes the status: an entry of its own, for the status subresource.
    const current = created.json();
    const status = await rawRequest(emu, "PUT", `${WIDGETS}/w/status`, {
      body: { ...current, status: { phase: "Ready" } },
      userAgent: "virtualization-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
    });
    assert.equal(status.status, 200, status.text);
    const afterStatus = status.json().metadata.managedFields;
    assert.deepEqual(
      afterStatus.map((e: any) => [e.manager, e.subresource ?? "", Object.keys(e.fieldsV1)]),
      [
        ["pulumi-vm-snapshots", "", ["f:metadata", "f:spec"]],
        ["virtualization-controller", "status", ["f:status"]],
      ],
    );

    // Someone else changes spec.color: the field leaves the creator's entry, which keeps the rest.
    const patched = await rawRequest(emu, "PATCH", `${WIDGETS}/w`, {
      body: { spec: { color: "blue" } },
      contentType: "application/merge-patch+json",
      userAgent: "kubectl/v1.32.0 (linux/amd64) kubernetes/abc",
    });
    assert.equal(patched.status, 200, patched.text);
    const byManager = Object.fromEntries(
      patched.json().metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1]),
    );
    assert.deepEqual(byManager["pulumi-vm-snapshots"], {
      "f:metadata": { "f:labels": { "f:team": {} } },
      "f:spec": { "f:size": {} },
    });
    assert.deepEqual(byManager.kubectl, { "f:spec": { "f:color": {} } });
    assert.deepEqual(byManager["virtualization-controller"], { "f:status": { "f:phase": {} } });
  });
});

describe("emulator: custom resources as the apiserver writes them", () => {
  let emu: Emulator;
  beforeEach(async () => (emu = await startEmulator({ types: [Widget] })));
  afterEach(() => emu.stop());

  it("writes a custom resource's keys sorted at every level, in answers and in watch events", async () => {
    const kc = new KubeConfig();
    kc.loadFromString(emu.kubeconfig);
    const watch = await WatchStream.open(kc, WIDGETS, { resourceVersion: String(emu.store.resourceVersion) });
    const body = {
      spec: { size: 1, color: "red", zone: { rack: "b", hall: "a" } },
      metadata: { namespace: "default", name: "w", labels: { z: "1", a: "2" } },
      kind: "Widget",
      apiVersion: "toys.emulator.test/v1",
    };
    const created = await rawRequest(emu, "POST", WIDGETS, { body, userAgent: "pulumi-vm-snapshots/0.1.0" });
    assert.equal(created.status, 201, created.text);
    const [{ object: event }] = await watch.next();
    watch.close();
    for (const object of [JSON.parse(created.text), event]) {
      assert.deepEqual(Object.keys(object), ["apiVersion", "kind", "metadata", "spec"]);
      assert.deepEqual(Object.keys(object.metadata), [
        "creationTimestamp",
        "generation",
        "labels",
        "managedFields",
        "name",
        "namespace",
        "resourceVersion",
        "uid",
      ]);
      assert.deepEqual(Object.keys(object.metadata.labels), ["a", "z"]);
      assert.deepEqual(Object.keys(object.spec), ["color", "size", "zone"]);
      assert.deepEqual(Object.keys(object.spec.zone), ["hall", "rack"]);
    }
  });
});
