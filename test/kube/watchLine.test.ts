// Reading a watch event's head without parsing the line: whatever it reads must be what JSON.parse reads,
// and a line it cannot read with certainty is left to JSON.parse (undefined). Objects are parsed without
// their managedFields, and otherwise as JSON.parse reads them.
import assert from "node:assert/strict";
import { eventObject, parseAnswer, readHead, type WatchHead } from "../../provider/kube/watchLine";

/** The head's fields JSON.parse also reads (the managedFields span is where they were). */
const fieldsOf = (head: WatchHead | undefined) => {
  if (!head) return head;
  const { managedFields: _span, ...fields } = head;
  return fields;
};

/** What JSON.parse reads, less metadata.managedFields. */
const withoutManagedFields = (object: any) => {
  if (object?.metadata && typeof object.metadata === "object") delete object.metadata.managedFields;
  return object;
};

const parsedHead = (line: string) => {
  const event = JSON.parse(line);
  const meta = event.object?.metadata ?? {};
  const head: Record<string, unknown> = { type: event.type };
  if (meta.name !== undefined) head.name = meta.name;
  if (meta.resourceVersion !== undefined) head.resourceVersion = meta.resourceVersion;
  return head;
};

const snapshot = (metadata: Record<string, unknown>) => ({
  apiVersion: "virtualization.deckhouse.io/v1alpha2",
  kind: "VirtualDiskSnapshot",
  metadata,
  spec: { virtualDiskName: "db-root", requiredConsistency: true },
  status: { phase: "Ready", conditions: [{ type: "Ready", status: "True", message: 'say "name": {x}' }] },
});

describe("watch line head", () => {
  it("reads the type, name and resourceVersion as the API server lays them out", () => {
    // Keys in the order the API server writes an unstructured object: sorted, so labels and managedFields
    // (which may hold a "name" of their own) come before metadata.name.
    const line = JSON.stringify({
      type: "MODIFIED",
      object: snapshot({
        annotations: {
          "kubectl.kubernetes.io/last-applied-configuration": '{"metadata":{"name":"other"}}\n',
        },
        creationTimestamp: "2026-11-22T10:00:00Z",
        finalizers: ["virtualization.deckhouse.io/vdsnapshot-cleanup"],
        generation: 1,
        labels: { name: "not-this-one" },
        managedFields: [{ manager: "kubectl", fieldsV1: { "f:metadata": { "f:name": {} } }, time: null }],
        name: "db-before-upgrade",
        namespace: "prod",
        ownerReferences: [{ kind: "VirtualDisk", name: "db-root", uid: "u1" }],
        resourceVersion: "48213",
        uid: "0b6f",
      }),
    });
    const head = readHead(line);
    assert.deepEqual(fieldsOf(head), {
      type: "MODIFIED",
      name: "db-before-upgrade",
      resourceVersion: "48213",
    });
    const object = eventObject(line, head!.managedFields);
    assert.equal(object.metadata.managedFields, undefined, "the object is parsed without its managedFields");
    assert.deepEqual(object, withoutManagedFields(JSON.parse(line).object));
  });

  it("parses an API answer without the managedFields of the object it is, and anything else as it is", () => {
    const managedFields = [
      { manager: "pulumi-vm-snapshots", operation: "Update", fieldsV1: { "f:spec": {} } },
    ];
    const object = snapshot({ managedFields, name: "db", namespace: "prod", resourceVersion: "5" });
    for (const text of [JSON.stringify(object), JSON.stringify(object, null, 2)]) {
      assert.deepEqual(parseAnswer(text), withoutManagedFields(JSON.parse(text)));
    }
    // managedFields last, or alone, in the metadata: the comma before it goes.
    const last = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", managedFields } };
    assert.deepEqual(parseAnswer(JSON.stringify(last)), {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s" },
    });
    const alone = { kind: "Secret", metadata: { managedFields } };
    assert.deepEqual(parseAnswer(JSON.stringify(alone)), { kind: "Secret", metadata: {} });
    // A list, a Status, and text that is not JSON are parsed whole (or fail as JSON.parse does).
    const list = { apiVersion: "v1", items: [last], kind: "SecretList", metadata: { resourceVersion: "9" } };
    assert.deepEqual(parseAnswer(JSON.stringify(list)), list);
    const status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", code: 404 };
    assert.deepEqual(parseAnswer(JSON.stringify(status)), status);
    assert.throws(() => parseAnswer("not json"), SyntaxError);
  });

  it("reads a bookmark, which has no name", () => {
    const line =
      '{"type":"BOOKMARK","object":{"kind":"VirtualDiskSnapshot","metadata":{"resourceVersion":"900"}}}';
    assert.deepEqual(fieldsOf(readHead(line)), { type: "BOOKMARK", resourceVersion: "900" });
  });

  it("reads lines with whitespace between the tokens", () => {
    const event = { type: "ADDED", object: snapshot({ name: "spaced", resourceVersion: "7" }) };
    const line = JSON.stringify(event, null, 2).replace(/\n/g, " \t");
    assert.deepEqual(fieldsOf(readHead(line)), parsedHead(line));
  });

  it("leaves to JSON.parse what it cannot read with certainty", () => {
    const cases = [
      // "type" after "object": reading it would mean walking the whole object.
      '{"object":{"metadata":{"name":"a","resourceVersion":"1"}},"type":"ADDED"}',
      // Escapes in a name or a key decode to something else than their text.
      '{"type":"ADDED","object":{"metadata":{"name":"a\\u0062","resourceVersion":"1"}}}',
      '{"type":"ADDED","object":{"metadata":{"na\\u006de":"a","resourceVersion":"1"}}}',
      // Not JSON, or cut short.
      '{"type":"ADDED","object":{"metadata":{"name":"a"',
      "not json",
      "",
    ];
    for (const line of cases) assert.equal(readHead(line), undefined, line);
  });

  it("agrees with JSON.parse on generated events", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const text = () => pick(["", "a", 'quote " inside', "back\\slash\\", "brace } ] {", "name", '\\"', "ü"]);
    const value = (depth: number): unknown => {
      const k = random();
      if (depth > 2 || k < 0.3) return pick([text(), 12, -1.5e3, true, false, null]);
      if (k < 0.65) return Array.from({ length: Math.floor(random() * 3) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [
          pick(["name", "resourceVersion", "x", "f:name"]),
          value(depth + 1),
        ]),
      );
    };
    let read = 0;
    for (let i = 0; i < 500; i++) {
      const metadata: Record<string, unknown> = {};
      for (const key of ["annotations", "labels", "name", "managedFields", "resourceVersion", "uid"]) {
        if (random() < 0.8)
          metadata[key] = key === "name" ? `snap-${i}` : key === "resourceVersion" ? String(i) : value(0);
      }
      const object: Record<string, unknown> = { spec: value(0), metadata, status: value(0) };
      if (random() < 0.3) delete object.metadata;
      const event = { type: pick(["ADDED", "MODIFIED", "DELETED"]), object };
      const line = JSON.stringify(event, null, random() < 0.2 ? 1 : undefined);
      const head = readHead(line);
      if (head) {
        read++;
        assert.deepEqual(fieldsOf(head), parsedHead(line), line);
        assert.deepEqual(eventObject(line, head.managedFields), withoutManagedFields(event.object), line);
      }
    }
    assert.equal(read, 500); // every generated line is laid out as the API server writes
  });
});
