// The protobuf wire format of the requests that carry property bags (google.protobuf.Struct), written and read
// directly. The engine is compiled Go, whose marshalling costs little next to the host's; the generated
// JavaScript messages build a wrapper object per value and made the stand-in, on the same cores as the host,
// spend more on a resource's properties than the host did. Field numbers are those of pulumi/proto/provider.proto.
import type { Properties } from "./protocol";

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
/** The tags of length-delimited fields 1 and 2, which every message here uses for its entries. */
const FIELD_1 = (1 << 3) | BYTES;
const FIELD_2 = (2 << 3) | BYTES;

/** A protobuf message being written: fields appended in any order, as the format allows. */
export class MessageWriter {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  // proto3 leaves default values out: an empty string or byte string is not written.
  string(field: number, value: string): this {
    return value === "" ? this : this.text(field, value);
  }

  bytes(field: number, value: Uint8Array): this {
    return value.length === 0 ? this : this.lengthDelimited(field, value);
  }

  bool(field: number, value: boolean): this {
    return value ? this.tag(field, VARINT).varint(1) : this;
  }

  /** A google.protobuf.Struct field; `undefined` leaves it out. */
  struct(field: number, value: Properties | undefined): this {
    if (value === undefined) return this;
    return this.message(field, (w) => w.structFields(value));
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private message(field: number, write: (w: MessageWriter) => void): this {
    const inner = new MessageWriter();
    write(inner);
    // Written even when empty: a Struct `{}` is present, not missing.
    return this.lengthDelimited(field, inner.finish());
  }

  private lengthDelimited(field: number, value: Uint8Array): this {
    this.tag(field, BYTES).varint(value.length).reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  private text(field: number, value: string): this {
    const length = Buffer.byteLength(value);
    this.tag(field, BYTES).varint(length).reserve(length);
    this.pos += this.buf.write(value, this.pos, "utf8");
    return this;
  }

  private structFields(object: Properties, path = ""): void {
    for (const key of Object.keys(object)) {
      this.message(1, (entry) => {
        entry.string(1, key);
        entry.message(2, (v) => v.value(object[key], path ? `${path}.${key}` : key));
      });
    }
  }

  /** google.protobuf.Value: null 1, number 2, string 3, bool 4, struct 5, list 6. */
  private value(value: unknown, path: string): void {
    if (value === null) {
      this.tag(1, VARINT).varint(0);
    } else if (typeof value === "number") {
      this.tag(2, FIXED64).reserve(8);
      this.pos = this.buf.writeDoubleLE(value, this.pos);
    } else if (typeof value === "string") {
      this.text(3, value); // an empty string is still the string kind: written, not left out
    } else if (typeof value === "boolean") {
      this.tag(4, VARINT).varint(value ? 1 : 0);
    } else if (Array.isArray(value)) {
      this.message(6, (list) => {
        value.forEach((item, i) => list.message(1, (v) => v.value(item, `${path}[${i}]`)));
      });
    } else if (typeof value === "object") {
      this.message(5, (s) => s.structFields(value as Properties, path));
    } else {
      // As google-protobuf's Struct.fromJavaScript: a property bag holds JSON values only.
      throw new Error(`${path}: a ${typeof value} cannot travel in a property bag`);
    }
  }

  private tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  private varint(n: number): this {
    this.reserve(10);
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
    return this;
  }

  private reserve(n: number): this {
    if (this.pos + n <= this.buf.length) return this;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    return this;
  }
}

/** How to read one field of a message: a string, a Struct, or a nested message of such fields. */
export type FieldKind = "string" | "struct" | { repeated: MessageSpec };
export type MessageSpec = Record<number, [name: string, kind: FieldKind]>;

/** pulumirpc.CheckResponse. */
export const checkResponse: MessageSpec = {
  1: ["inputs", "struct"],
  2: ["failures", { repeated: { 1: ["property", "string"], 2: ["reason", "string"] } }],
};
/** pulumirpc.CreateResponse. */
export const createResponse: MessageSpec = { 1: ["id", "string"], 2: ["properties", "struct"] };

/** Reads the fields `spec` names (unknown fields are skipped, as protobuf readers do). */
export function readMessage(buf: Buffer, spec: MessageSpec): Record<string, any> {
  return new Reader(buf).message(buf.length, spec);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  message(end: number, spec: MessageSpec): Record<string, any> {
    const out: Record<string, any> = {};
    while (this.pos < end) {
      const tag = this.varint();
      const field = spec[tag >>> 3];
      if (!field || (tag & 7) !== BYTES) {
        this.skip(tag & 7);
        continue;
      }
      const [name, kind] = field;
      const stop = this.end();
      if (kind === "string") out[name] = this.buf.toString("utf8", this.pos, stop);
      else if (kind === "struct") out[name] = this.struct(stop);
      else (out[name] ??= []).push(this.message(stop, kind.repeated));
      this.pos = stop;
    }
    return out;
  }

  /** Struct: its map entries (field 1), each a key (1) and a Value (2). */
  private struct(end: number): Properties {
    const out: Properties = {};
    this.entries(end, (stop) => {
      let key = "";
      let value: unknown = null;
      while (this.pos < stop) {
        const tag = this.varint();
        if (tag === FIELD_1) key = this.text();
        else if (tag === FIELD_2) value = this.value(this.end());
        else this.skip(tag & 7);
      }
      out[key] = value;
    });
    return out;
  }

  private value(end: number): unknown {
    let value: unknown = null; // a Value with no kind set reads as null
    while (this.pos < end) {
      const tag = this.varint();
      switch (tag) {
        case (1 << 3) | VARINT:
          this.varint();
          value = null;
          break;
        case (2 << 3) | FIXED64:
          value = this.buf.readDoubleLE(this.pos);
          this.pos += 8;
          break;
        case (3 << 3) | BYTES:
          value = this.text();
          break;
        case (4 << 3) | VARINT:
          value = this.varint() !== 0;
          break;
        case (5 << 3) | BYTES:
          value = this.struct(this.end());
          break;
        case (6 << 3) | BYTES: {
          // ListValue: its Values (field 1).
          const items: unknown[] = [];
          this.entries(this.end(), (stop) => items.push(this.value(stop)));
          value = items;
          break;
        }
        default:
          this.skip(tag & 7);
      }
    }
    return value;
  }

  /** Hands each length-delimited field 1 before `end` to `read` (with where it ends); other fields are skipped. */
  private entries(end: number, read: (stop: number) => void): void {
    while (this.pos < end) {
      const tag = this.varint();
      if (tag !== FIELD_1) {
        this.skip(tag & 7);
        continue;
      }
      const stop = this.end();
      read(stop);
      this.pos = stop;
    }
  }

  /** A length-delimited UTF-8 string. */
  private text(): string {
    const stop = this.end();
    const text = this.buf.toString("utf8", this.pos, stop);
    this.pos = stop;
    return text;
  }

  /** Reads a length and returns where the bytes it covers end. */
  private end(): number {
    const length = this.varint();
    return this.pos + length;
  }

  private varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const byte = this.buf[this.pos++];
      if (byte === undefined) throw new Error("truncated protobuf message");
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) return n;
      scale *= 128;
    }
  }

  private skip(wireType: number): void {
    if (wireType === VARINT) this.varint();
    else if (wireType === FIXED64) this.pos += 8;
    else if (wireType === BYTES) this.pos += this.varint();
    else if (wireType === 5) this.pos += 4;
    else throw new Error(`protobuf wire type ${wireType} is not read here`);
  }
}
