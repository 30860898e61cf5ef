// Server-side apply through the REST API, for what kubectl's test does not reach: the apiserver's errors, an
// apply to a status of nothing, ownership two managers share, and managedFields surviving other writes.
import assert from "node:assert/strict";
import { startEmulator, type Emulator } from "./index";
import { rawRequest } from "./testClient";
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
    const put = await rawRequest(emu, "PUT", `${WIDGETS}/w`, { body: { ...current, metadata } });
    assert.equal(put.status, 200, put.text);
    const merged = await rawRequest(emu, "PATCH", `${WIDGETS}/w`, {
      body: { metadata: { labels: { a: "b" } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(merged.status, 200, merged.text);
    assert.deepEqual(await managers("w"), ["alice"]);
  });
});
