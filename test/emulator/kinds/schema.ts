// A structural schema, as a CRD's openAPIV3Schema states it (the subset CRDs use), and what the apiserver
// does with it on every write: prune unknown fields, apply defaults, validate, then run the CEL rules.
import { isDeepStrictEqual } from "node:util";
import {
  invalidType,
  invalidValue,
  requiredValue,
  tooLong,
  tooMany,
  unsupportedValue,
  type FieldError,
  type Scalar,
} from "./field-errors";

export type SchemaType = "object" | "array" | "string" | "integer" | "number" | "boolean";

/** One `x-kubernetes-validations` entry: the CEL text as the CRD states it, and the same rule in TypeScript. */
export interface Rule {
  rule: string;
  message: string;
  /** `oldSelf` is passed to transition rules (those whose CEL mentions oldSelf) on UPDATE only. */
  holds(self: any, oldSelf?: any): boolean;
}

export interface Schema {
  type?: SchemaType;
  properties?: Record<string, Schema>;
  required?: readonly string[];
  enum?: readonly Scalar[];
  default?: unknown;
  nullable?: boolean;
  /** Only `date-time` is checked, as the apiserver checks formats. */
  format?: "date-time";
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  /** A map: every key not in `properties` is validated (and defaulted) by this schema. */
  additionalProperties?: Schema;
  /** x-kubernetes-preserve-unknown-fields: fields the schema does not list are kept, unchecked. */
  preserveUnknownFields?: boolean;
  /** x-kubernetes-int-or-string. */
  intOrString?: boolean;
  /** x-kubernetes-validations. */
  rules?: readonly Rule[];
}

type Json = any;

const isObject = (v: unknown): v is Record<string, Json> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const child = (path: string, key: string) => (path ? `${path}.${key}` : key);
// Every object keeps these at its root, whatever its schema lists.
const rootFields = new Set(["apiVersion", "kind", "metadata"]);

/** Drops the fields the schema does not know, in place (the apiserver prunes, it does not reject). */
export function prune(obj: Json, schema: Schema): void {
  pruneNode(obj, schema, true);
}

function pruneNode(v: Json, s: Schema, root = false): void {
  if (Array.isArray(v)) {
    if (s.items) for (const item of v) pruneNode(item, s.items);
    return;
  }
  if (!isObject(v) || (s.type !== "object" && !s.properties && !root)) return;
  for (const key of Object.keys(v)) {
    const known = s.properties?.[key];
    if (known) pruneNode(v[key], known);
    else if (root && rootFields.has(key)) continue;
    else if (s.additionalProperties) pruneNode(v[key], s.additionalProperties);
    else if (!s.preserveUnknownFields) delete v[key];
  }
}

/**
 * Applies defaults in place, top-down, only inside objects that exist (array items included); a null
 * in a non-nullable field is replaced by its default, or dropped when it has none.
 */
export function applyDefaults(obj: Json, schema: Schema): void {
  if (Array.isArray(obj)) {
    if (schema.items) for (const item of obj) applyDefaults(item, schema.items);
    return;
  }
  if (!isObject(obj)) return;
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    if (obj[key] === null && !prop.nullable) {
      if (prop.default === undefined) delete obj[key];
      else obj[key] = structuredClone(prop.default);
    } else if (obj[key] === undefined && prop.default !== undefined) {
      obj[key] = structuredClone(prop.default);
    }
  }
  for (const [key, value] of Object.entries(obj)) {
    const s = schema.properties?.[key] ?? schema.additionalProperties;
    if (s) applyDefaults(value, s);
  }
}

const jsonType = (v: Json): string => {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
};
const typeMatches = (want: SchemaType, got: string) =>
  want === got || (want === "number" && got === "integer");
// RFC 3339, as strfmt's date-time accepts it.
const dateTime = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const patterns = new Map<string, RegExp>();
// CRD patterns are Go RE2; named groups are the one syntax JavaScript spells differently.
const regexOf = (p: string) =>
  patterns.get(p) ?? patterns.set(p, new RegExp(p.replace(/\(\?P</g, "(?<"))).get(p)!;

// Schemas are fixed once served: whether one has CEL rules anywhere is worked out once.
const withRules = new WeakMap<Schema, boolean>();
function hasRules(s: Schema): boolean {
  let known = withRules.get(s);
  if (known === undefined) {
    const children = [...Object.values(s.properties ?? {}), s.items, s.additionalProperties];
    known = !!s.rules?.length || children.some((c) => c !== undefined && hasRules(c));
    withRules.set(s, known);
  }
  return known;
}

// Errors after which the apiserver does not evaluate CEL rules (hasBlockingErr in its CR strategy).
const blocking = new Set([
  "FieldValueNotSupported",
  "FieldValueRequired",
  "FieldValueTooLong",
  "FieldValueTooMany",
  "FieldValueTypeInvalid",
]);

/**
 * Validates an object (after pruning and defaulting) against its kind's schema. With `old` (an UPDATE),
 * values equal to the stored ones are not re-validated, as with the apiserver's validation ratcheting;
 * transition rules (`oldSelf`) run where both versions have the value.
 */
export function validate(obj: Json, schema: Schema, old?: Json): FieldError[] {
  const errors: FieldError[] = [];
  checkNode(obj, schema, "", old, errors, true);
  if (!hasRules(schema)) return errors;
  if (errors.some((e) => blocking.has(e.reason))) {
    errors.push(
      invalidValue(
        "<nil>",
        null,
        "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
      ),
    );
  } else {
    checkRules(obj, schema, "", old, errors);
  }
  return errors;
}

function checkNode(v: Json, s: Schema, path: string, old: Json, errors: FieldError[], root = false): void {
  if (old !== undefined && isDeepStrictEqual(v, old)) return;
  const got = jsonType(v);
  if (got === "null") {
    if (!s.nullable && s.type) {
      errors.push(invalidType(path, "null", `${path} in body must be of type ${s.type}: "null"`));
    }
    return;
  }
  if (s.intOrString ? got !== "integer" && got !== "string" : s.type && !typeMatches(s.type, got)) {
    const want = s.intOrString ? "integer,string" : s.type;
    errors.push(invalidType(path, got, `${path} in body must be of type ${want}: "${got}"`));
    return;
  }
  if (s.enum && !s.enum.includes(v)) errors.push(unsupportedValue(path, v, s.enum));
  if (typeof v === "string") checkString(v, s, path, errors);
  if (typeof v === "number") {
    if (s.minimum !== undefined && v < s.minimum) {
      errors.push(invalidValue(path, v, `${path} in body should be greater than or equal to ${s.minimum}`));
    }
    if (s.maximum !== undefined && v > s.maximum) {
      errors.push(invalidValue(path, v, `${path} in body should be less than or equal to ${s.maximum}`));
    }
  }
  if (Array.isArray(v)) {
    if (s.maxItems !== undefined && v.length > s.maxItems) errors.push(tooMany(path, v.length, s.maxItems));
    if (s.minItems !== undefined && v.length < s.minItems) {
      errors.push(invalidValue(path, v, `${path} in body should have at least ${s.minItems} items`));
    }
    if (s.items) v.forEach((item, i) => checkNode(item, s.items!, `${path}[${i}]`, undefined, errors));
    return;
  }
  if (!isObject(v)) return;
  for (const key of s.required ?? []) {
    if (v[key] === undefined) errors.push(requiredValue(child(path, key)));
  }
  const oldObject = isObject(old) ? old : {};
  for (const [key, value] of Object.entries(v)) {
    if (root && rootFields.has(key)) continue;
    const prop = s.properties?.[key] ?? s.additionalProperties;
    if (prop) checkNode(value, prop, child(path, key), oldObject[key], errors);
  }
}

function checkString(v: string, s: Schema, path: string, errors: FieldError[]): void {
  const length = [...v].length; // characters, not UTF-16 units
  if (s.maxLength !== undefined && length > s.maxLength) errors.push(tooLong(path, s.maxLength));
  if (s.minLength !== undefined && length < s.minLength) {
    errors.push(invalidValue(path, v, `${path} in body should be at least ${s.minLength} chars long`));
  }
  if (s.pattern !== undefined && !regexOf(s.pattern).test(v)) {
    errors.push(invalidValue(path, v, `${path} in body should match '${s.pattern}'`));
  }
  if (s.format === "date-time" && !dateTime.test(v)) {
    errors.push(invalidType(path, v, `${path} in body must be of type date-time: "${v}"`));
  }
}

function checkRules(v: Json, s: Schema, path: string, old: Json, errors: FieldError[]): void {
  if (v === undefined || v === null) return;
  const unchanged = old !== undefined && isDeepStrictEqual(v, old);
  for (const rule of s.rules ?? []) {
    const transition = rule.rule.includes("oldSelf");
    if (transition ? old === undefined : unchanged) continue;
    if (!rule.holds(v, transition ? old : undefined)) {
      errors.push(invalidValue(path, s.type ?? "object", rule.message));
    }
  }
  if (Array.isArray(v)) {
    if (s.items) v.forEach((item, i) => checkRules(item, s.items!, `${path}[${i}]`, undefined, errors));
    return;
  }
  if (!isObject(v)) return;
  const oldObject = isObject(old) ? old : {};
  for (const [key, value] of Object.entries(v)) {
    const prop = s.properties?.[key] ?? s.additionalProperties;
    if (prop) checkRules(value, prop, child(path, key), oldObject[key], errors);
  }
}

/** CEL's has(): the field is present (the apiserver has already dropped nulls). */
export const has = (o: Json, key: string) => isObject(o) && o[key] !== undefined;
/** CEL's size() of a string: characters, not UTF-16 units. */
export const size = (s: string) => [...s].length;
