// The stand-in's own protobuf writing and reading must mean to the host exactly what Pulumi's generated
// messages mean: checked here against those messages, in both directions.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { loadProtocol } from "./protocol";
import { repoRoot } from "./repo";
import { checkResponse, createResponse, MessageWriter, readMessage } from "./wire";

const { provider, struct } = loadProtocol(repoRoot);

/** A property bag with every kind of value a state holds, nested, and text that is not ASCII. */
const bag = {
  __provider: 'exports.handler = __f0;\nconst provider = require("pulumi-vm-snapshots/providers/x");\n',
  name: "db-snapshot-ü1",
  empty: "",
  zero: 0,
  negative: -42,
  fraction: 0.1,
  large: 2 ** 53 - 1,
  tiny: 5e-324,
  yes: true,
  no: false,
  nothing: null,
  list: ["a", 1, false, null, { deep: ["é", []] }, []],
  object: {
    emptyObject: {},
    nested: { emoji: "snapshot 📸", unknown: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" },
  },
  secret: { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: "token" },
  long: "x".repeat(70_000),
};

describe("the stand-in's protobuf wire format", () => {
  it("writes a DeleteRequest the host's generated message reads back field for field", () => {
    const inputs = { name: "a", __provider: bag.__provider };
    const bytes = new MessageWriter()
      .string(1, "prod/db-1")
      .string(2, "urn:pulumi:test::p::t::r")
      .struct(3, bag)
      .struct(5, inputs)
      .string(6, "r")
      .string(7, "t")
      .finish();
    const req = provider.DeleteRequest.deserializeBinary(bytes);
    assert.equal(req.getId(), "prod/db-1");
    assert.equal(req.getUrn(), "urn:pulumi:test::p::t::r");
    assert.equal(req.getName(), "r");
    assert.equal(req.getType(), "t");
    assert.deepEqual(req.getProperties()!.toJavaScript(), bag);
    assert.deepEqual(req.getOldInputs()!.toJavaScript(), inputs);
  });

  it("writes an empty property bag as present and leaves a missing one out", () => {
    const seed = randomBytes(32);
    const bytes = new MessageWriter()
      .string(1, "urn")
      .struct(2, {})
      .struct(3, undefined)
      .bytes(5, seed)
      .finish();
    const req = provider.CheckRequest.deserializeBinary(bytes);
    assert.deepEqual(req.getOlds()?.toJavaScript(), {});
    assert.equal(req.getNews(), undefined);
    assert.deepEqual(Buffer.from(req.getRandomseed_asU8()), seed);
  });

  it("refuses a value no property bag can hold, naming where it is", () => {
    assert.throws(
      () => new MessageWriter().struct(2, { a: { b: [1, undefined] } }),
      /a\.b\[1\]: a undefined/,
    );
  });

  it("reads the host's CreateResponse and CheckResponse as the generated messages do", () => {
    const created = new provider.CreateResponse()
      .setId("prod/db-1")
      .setProperties(struct.Struct.fromJavaScript(bag as any));
    assert.deepEqual(readMessage(Buffer.from(created.serializeBinary()), createResponse), {
      id: "prod/db-1",
      properties: bag,
    });

    const failure = (property: string, reason: string) =>
      new provider.CheckFailure().setProperty(property).setReason(reason);
    const checked = new provider.CheckResponse()
      .setInputs(struct.Struct.fromJavaScript({ name: "x", nested: { list: [1, "b"] } }))
      .setFailuresList([failure("namespace", "must be a DNS label"), failure("name", "too long")]);
    assert.deepEqual(readMessage(Buffer.from(checked.serializeBinary()), checkResponse), {
      inputs: { name: "x", nested: { list: [1, "b"] } },
      failures: [
        { property: "namespace", reason: "must be a DNS label" },
        { property: "name", reason: "too long" },
      ],
    });
  });

  it("skips fields it does not know, as a protobuf reader must", () => {
    const created = new provider.CreateResponse()
      .setId("prod/db-1")
      .setRefreshBeforeUpdate(true)
      .setProperties(struct.Struct.fromJavaScript({ a: 1 }));
    assert.deepEqual(readMessage(Buffer.from(created.serializeBinary()), createResponse), {
      id: "prod/db-1",
      properties: { a: 1 },
    });
  });
});
