import assert from "node:assert/strict";
import { admission } from "./admission";
import { applyDefaults, has, prune, validate, type Schema } from "./schema";
import { refusal, testCluster } from "./test-cluster";

const widget: Schema = {
  type: "object",
  required: ["spec"],
  properties: {
    spec: {
      type: "object",
      required: ["name"],
      properties: {
        name: { type: "string", minLength: 1, maxLength: 8, pattern: "^[a-z]+$" },
        mode: { type: "string", enum: ["Fast", "Safe"], default: "Safe" },
        replicas: { type: "integer", minimum: 1, maximum: 3 },
        ports: {
          type: "array",
          minItems: 1,
          maxItems: 2,
          items: {
            type: "object",
            properties: { port: { type: "integer" }, protocol: { type: "string", default: "TCP" } },
          },
        },
        extra: { type: "object", preserveUnknownFields: true, properties: { size: { type: "integer" } } },
        labels: { type: "object", additionalProperties: { type: "string" } },
        tuning: { type: "object", properties: { level: { type: "integer", default: 3 } } },
        at: { type: "string", format: "date-time" },
        note: { type: "string", nullable: true },
        owner: { type: "string" },
      },
      rules: [
        {
          rule: "self.mode == 'Fast' ? has(self.replicas) : true",
          message: "Fast requires replicas.",
          holds: (s) => (s.mode === "Fast" ? has(s, "replicas") : true),
        },
        {
          rule: "self.name == oldSelf.name",
          message: "name is immutable",
          holds: (s, o) => s.name === o.name,
        },
      ],
    },
  },
};

const widgetAdmission = admission({ kind: "Widget", group: "example.com" }, widget);
const object = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w", namespace: "ns" },
  spec,
  ...extra,
});
/** Defaults as the apiserver would, then the rejection's message (undefined when admitted). */
const admitted = (obj: any, old?: any) => {
  widgetAdmission.default(obj);
  return widgetAdmission.admit(obj, old, old ? "UPDATE" : "CREATE");
};

describe("structural schema: defaults", () => {
  it("fills absent fields, inside array items too, and only where the parent object exists", () => {
    const obj = object({ name: "a", ports: [{ port: 80 }, { port: 53, protocol: "UDP" }] });
    applyDefaults(obj, widget);
    assert.equal(obj.spec.mode, "Safe");
    assert.deepEqual(obj.spec.ports, [
      { port: 80, protocol: "TCP" },
      { port: 53, protocol: "UDP" },
    ]);
    assert.equal("tuning" in obj.spec, false, "no parent object, no default");
    const withTuning: any = object({ name: "a", tuning: {} });
    applyDefaults(withTuning, widget);
    assert.deepEqual(withTuning.spec.tuning, { level: 3 });
  });

  it("keeps values that are set, replaces a null with the default, drops a null without one", () => {
    const obj: any = object({ name: "a", mode: null, owner: null, note: null, replicas: 2 });
    applyDefaults(obj, widget);
    assert.equal(obj.spec.mode, "Safe");
    assert.equal("owner" in obj.spec, false);
    assert.equal(obj.spec.note, null, "nullable fields keep their null");
    assert.equal(obj.spec.replicas, 2);
  });
});

describe("structural schema: pruning", () => {
  it("drops unknown fields instead of rejecting them, except where unknown fields are preserved", () => {
    const obj: any = object(
      { name: "a", colour: "red", extra: { size: 1, anything: { deep: true } }, labels: { app: "x" } },
      { surprise: 1 },
    );
    prune(obj, widget);
    assert.deepEqual(obj, {
      apiVersion: "example.com/v1",
      kind: "Widget",
      metadata: { name: "w", namespace: "ns" },
      spec: { name: "a", extra: { size: 1, anything: { deep: true } }, labels: { app: "x" } },
    });
  });

  it("prunes inside array items", () => {
    const obj: any = object({ name: "a", ports: [{ port: 1, unknown: "x" }] });
    prune(obj, widget);
    assert.deepEqual(obj.spec.ports, [{ port: 1 }]);
  });
});

describe("structural schema: validation causes", () => {
  const causeOf = (spec: Record<string, unknown>) => {
    const errors = validate(object(spec), widget);
    return errors.filter((e) => e.field !== "<nil>");
  };

  it("FieldValueRequired names the missing field", () => {
    assert.deepEqual(causeOf({}), [
      { reason: "FieldValueRequired", field: "spec.name", message: "Required value" },
    ]);
    assert.deepEqual(validate({ metadata: { name: "w" } }, widget)[0], {
      reason: "FieldValueRequired",
      field: "spec",
      message: "Required value",
    });
  });

  it("FieldValueNotSupported lists the supported values", () => {
    assert.deepEqual(causeOf({ name: "a", mode: "Slow" }), [
      {
        reason: "FieldValueNotSupported",
        field: "spec.mode",
        message: 'Unsupported value: "Slow": supported values: "Fast", "Safe"',
      },
    ]);
  });

  it("FieldValueTypeInvalid names the expected and the actual type", () => {
    assert.deepEqual(causeOf({ name: "a", replicas: "two" }), [
      {
        reason: "FieldValueTypeInvalid",
        field: "spec.replicas",
        message: 'Invalid value: "string": spec.replicas in body must be of type integer: "string"',
      },
    ]);
    assert.equal(
      causeOf({ name: "a", replicas: 1.5 })[0].message,
      'Invalid value: "number": spec.replicas in body must be of type integer: "number"',
    );
    assert.equal(
      causeOf({ name: "a", at: "yesterday" })[0].message,
      'Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
    );
    assert.deepEqual(causeOf({ name: "a", at: "2026-01-02T03:04:05Z" }), []);
  });

  it("FieldValueInvalid for length, pattern, range and item-count bounds", () => {
    assert.deepEqual(
      causeOf({ name: "", replicas: 0, ports: [] }).map((e) => [e.reason, e.field, e.message]),
      [
        [
          "FieldValueInvalid",
          "spec.name",
          'Invalid value: "": spec.name in body should be at least 1 chars long',
        ],
        ["FieldValueInvalid", "spec.name", "Invalid value: \"\": spec.name in body should match '^[a-z]+$'"],
        [
          "FieldValueInvalid",
          "spec.replicas",
          "Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
        ],
        [
          "FieldValueInvalid",
          "spec.ports",
          "Invalid value: []interface {}{}: spec.ports in body should have at least 1 items",
        ],
      ],
    );
    assert.equal(
      causeOf({ name: "a", replicas: 4 })[0].message,
      "Invalid value: 4: spec.replicas in body should be less than or equal to 3",
    );
  });

  it("FieldValueTooLong and FieldValueTooMany for upper bounds", () => {
    assert.deepEqual(causeOf({ name: "abcdefghi", ports: [{}, {}, {}] }), [
      { reason: "FieldValueTooLong", field: "spec.name", message: "Too long: may not be more than 8 bytes" },
      { reason: "FieldValueTooMany", field: "spec.ports", message: "Too many: 3: must have at most 2 items" },
    ]);
  });

  it("counts characters, not UTF-16 units, for string lengths", () => {
    const emoji = { type: "object", properties: { s: { type: "string", maxLength: 2 } } } as Schema;
    assert.deepEqual(validate({ metadata: {}, s: "😀😀" }, emoji), []);
  });

  it("paths index array items and name map keys", () => {
    assert.deepEqual(
      causeOf({ name: "a", ports: [{ port: "x" }], labels: { app: 1 } }).map((e) => e.field),
      ["spec.ports[0].port", "spec.labels.app"],
    );
  });
});

describe("structural schema: the apiserver's answer", () => {
  it('several errors: Kind.group "name" is invalid: [path: message, ...], one cause each', () => {
    const rejected = admitted(object({ name: "a", mode: "Slow" }));
    assert.deepEqual(rejected, {
      code: 422,
      reason: "Invalid",
      message:
        'Widget.example.com "w" is invalid: [spec.mode: Unsupported value: "Slow": supported values: "Fast", "Safe", ' +
        '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; ' +
        "correct the existing errors to complete validation]",
      causes: [
        {
          reason: "FieldValueNotSupported",
          field: "spec.mode",
          message: 'Unsupported value: "Slow": supported values: "Fast", "Safe"',
        },
        {
          reason: "FieldValueInvalid",
          field: "<nil>",
          message:
            'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
        },
      ],
    });
  });

  it("CEL rules speak with their own message at the field that holds them", () => {
    const rejected = admitted(object({ name: "a", mode: "Fast" }));
    assert.equal(
      rejected?.message,
      'Widget.example.com "w" is invalid: spec: Invalid value: "object": Fast requires replicas.',
    );
    assert.deepEqual(rejected?.causes, [
      {
        reason: "FieldValueInvalid",
        field: "spec",
        message: 'Invalid value: "object": Fast requires replicas.',
      },
    ]);
  });

  it("a lesser error (a pattern) does not stop the CEL rules", () => {
    const rejected = admitted(object({ name: "A", mode: "Fast" }));
    assert.deepEqual(
      rejected?.causes?.map((c) => c.field),
      ["spec.name", "spec"],
    );
  });

  it("transition rules (oldSelf) run on UPDATE only", () => {
    assert.equal(admitted(object({ name: "a" })), undefined);
    const old = object({ name: "a", mode: "Safe" });
    assert.equal(
      admitted(object({ name: "b" }), old)?.message,
      'Widget.example.com "w" is invalid: spec: Invalid value: "object": name is immutable',
    );
    assert.equal(admitted(object({ name: "a", replicas: 2 }), old), undefined);
  });

  it("ratchets: a stored invalid value may stay, a changed one is checked", () => {
    const old = { ...object({ name: "a" }), status: { phase: 7 } };
    const statusSchema: Schema = {
      type: "object",
      properties: { status: { type: "object", properties: { phase: { type: "string" } } } },
    };
    assert.deepEqual(validate(old, statusSchema, old), []);
    assert.equal(validate({ ...old, status: { phase: 8 } }, statusSchema, old)[0].field, "status.phase");
  });

  it("a Deckhouse snapshot with an unknown keepIPAddress is refused with the apiserver's wording", () => {
    const cluster = testCluster("deckhouse-v1.10");
    const error = refusal(() =>
      cluster.create("virtualization.deckhouse.io/v1alpha2", {
        kind: "VirtualMachineSnapshot",
        metadata: { name: "name" },
        spec: { virtualMachineName: "vm", keepIPAddress: "Sometimes" },
      }),
    );
    assert.equal(error.code, 422);
    assert.equal(error.reason, "Invalid");
    assert.equal(
      error.message,
      'VirtualMachineSnapshot.virtualization.deckhouse.io "name" is invalid: spec.keepIPAddress: Unsupported value: "Sometimes": supported values: "Always", "Never"',
    );
    assert.deepEqual(error.details?.causes, [
      {
        reason: "FieldValueNotSupported",
        field: "spec.keepIPAddress",
        message: 'Unsupported value: "Sometimes": supported values: "Always", "Never"',
      },
    ]);
  });
});
