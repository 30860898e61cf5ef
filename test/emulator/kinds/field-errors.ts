// Field errors as kube-apiserver 1.32 words them (k8s.io/apimachinery field.Error), and the 422 Invalid
// answer that carries them: `Kind.group "name" is invalid: <path>: <body>`.
import type { AdmissionRejection, StatusCause } from "../store";

/** One rejected field: `reason` is the cause type, `message` the error body without the path. */
export type FieldError = Required<StatusCause>;

export type Scalar = string | number | boolean;

/** Go's %q for a string (strconv.Quote): JSON quoting, with control characters as \xNN. */
export const goQuote = (s: string) =>
  JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, (_m, hex: string) => `\\x${hex}`);

/** Go's %#v of a decoded JSON value, as field.Error prints slices and maps. */
function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return "interface {}(nil)";
  if (typeof v === "string") return goQuote(v);
  if (Array.isArray(v)) return `[]interface {}{${v.map(goSyntax).join(", ")}}`;
  if (typeof v === "object") {
    const entries = Object.keys(v as object)
      .sort()
      .map((k) => `${goQuote(k)}:${goSyntax((v as Record<string, unknown>)[k])}`);
    return `map[string]interface {}{${entries.join(", ")}}`;
  }
  return String(v);
}

/** How field.Error shows a bad value: strings quoted, numbers and booleans bare, null as "null". */
export function goValue(v: unknown): string {
  if (v === null || v === undefined) return '"null"';
  if (typeof v === "string") return goQuote(v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return goSyntax(v);
}

const error = (reason: string, field: string, message: string): FieldError => ({ reason, field, message });

export const requiredValue = (field: string, detail = "") =>
  error("FieldValueRequired", field, detail ? `Required value: ${detail}` : "Required value");

export const unsupportedValue = (field: string, value: unknown, supported: readonly Scalar[]) =>
  error(
    "FieldValueNotSupported",
    field,
    `Unsupported value: ${goValue(value)}: supported values: ${supported
      .map((s) => goQuote(typeof s === "string" ? s : JSON.stringify(s)))
      .join(", ")}`,
  );

export const invalidValue = (field: string, value: unknown, detail: string) =>
  error("FieldValueInvalid", field, `Invalid value: ${goValue(value)}: ${detail}`);

export const invalidType = (field: string, value: unknown, detail: string) =>
  error("FieldValueTypeInvalid", field, `Invalid value: ${goValue(value)}: ${detail}`);

export const tooLong = (field: string, max: number) =>
  error("FieldValueTooLong", field, `Too long: may not be more than ${max} ${max === 1 ? "byte" : "bytes"}`);

export const tooMany = (field: string, actual: number, max: number) =>
  error("FieldValueTooMany", field, `Too many: ${actual}: must have at most ${max} items`);

export const forbidden = (field: string, detail: string) =>
  error("FieldValueForbidden", field, `Forbidden: ${detail}`);

/** errors.NewAggregate(...).Error(): one message as is, several deduplicated inside brackets. */
export function aggregate(errors: readonly FieldError[]): string {
  const lines = [...new Set(errors.map((e) => `${e.field}: ${e.message}`))];
  return lines.length === 1 ? lines[0] : `[${lines.join(", ")}]`;
}

/** The apiserver's 422 for an object its validation refused (apierrors.NewInvalid). */
export function invalidObject(
  target: { kind: string; group: string },
  name: string,
  errors: readonly FieldError[],
): AdmissionRejection {
  const qualified = target.group ? `${target.kind}.${target.group}` : target.kind;
  return {
    code: 422,
    reason: "Invalid",
    message: `${qualified} ${goQuote(name)} is invalid: ${aggregate(errors)}`,
    causes: errors.map((e) => ({ ...e })),
  };
}
