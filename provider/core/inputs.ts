// Inputs every kind shares, their validation, and auto-naming. Runs in `check`, before anything
// touches the cluster, so bad input is reported with its property path and a plain reason.
import { randomBytes } from "node:crypto";
import { z } from "zod";

/** How the engine marks a value that is not known yet (preview, or an output of a resource not created yet). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export const DEFAULT_WAIT_TIMEOUT_SECONDS = 600;
export const DEFAULT_DELETE_TIMEOUT_SECONDS = 300;
const MAX_TIMEOUT_SECONDS = 86_400;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A Kubernetes object name (DNS-1123 subdomain), as custom resources require. */
export const objectName = (what = "name") =>
  z
    .string({ error: `${what} must be a string` })
    .min(1, `${what} must not be empty`)
    .max(253, `${what} must be at most 253 characters`)
    .regex(
      DNS_SUBDOMAIN,
      `${what} must be lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
    );

export const namespaceName = z
  .string({ error: "namespace must be a string" })
  .min(1, "namespace must not be empty")
  .max(63, "namespace must be at most 63 characters")
  .regex(
    DNS_LABEL,
    "namespace must be lowercase letters, digits and '-', starting and ending with a letter or digit",
  );

function validKey(key: string): string | undefined {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0 && (!prefix || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `key "${key}" has an invalid prefix: it must be a DNS subdomain such as example.com`;
  }
  if (!name || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `key "${key}" must be at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

const labels = z
  .record(z.string(), z.string({ error: "label values must be strings" }))
  .superRefine((map, ctx) => {
    for (const [k, v] of Object.entries(map)) {
      const bad = validKey(k);
      if (bad) ctx.addIssue({ code: "custom", message: bad, path: [k] });
      else if (v.length > 63 || !LABEL_VALUE.test(v)) {
        ctx.addIssue({
          code: "custom",
          message: `value "${v}" must be at most 63 letters, digits, '-', '_' or '.'`,
          path: [k],
        });
      }
    }
  });

const annotations = z
  .record(z.string(), z.string({ error: "annotation values must be strings" }))
  .superRefine((map, ctx) => {
    for (const k of Object.keys(map)) {
      const bad = validKey(k);
      if (bad) ctx.addIssue({ code: "custom", message: bad, path: [k] });
    }
  });

const seconds = (what: string) =>
  z
    .number({ error: `${what} must be a number of seconds` })
    .int(`${what} must be a whole number of seconds`)
    .positive(`${what} must be greater than 0`)
    .max(MAX_TIMEOUT_SECONDS, `${what} must be at most ${MAX_TIMEOUT_SECONDS} (24 hours)`);

/** Inputs every resource accepts. */
export const sharedInputs = {
  name: objectName().optional(),
  namespace: namespaceName.optional(),
  labels: labels.optional(),
  annotations: annotations.optional(),
  description: z
    .string({ error: "description must be a string" })
    .max(2048, "description must be at most 2048 characters")
    .optional(),
  kubeconfig: z
    .string({ error: "kubeconfig must be the text of a kubeconfig file" })
    .min(1, "kubeconfig must not be empty")
    .optional(),
  context: z.string({ error: "context must be a string" }).min(1, "context must not be empty").optional(),
  waitTimeoutSeconds: seconds("waitTimeoutSeconds").optional(),
  deleteTimeoutSeconds: seconds("deleteTimeoutSeconds").optional(),
  triggers: z.any().optional(),
  adopt: z.boolean({ error: "adopt must be true or false" }).optional(),
  // Set by the Resource classes, not by users: the Pulumi resource name, for auto-naming.
  resourceName: z.string().optional(),
  ownerId: z.string().optional(),
  // Recorded by check: whether `name` was generated (then replacements create before they delete).
  autoNamed: z.boolean().optional(),
};

export type SharedInputs = {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  description?: string;
  kubeconfig?: string;
  context?: string;
  waitTimeoutSeconds?: number;
  deleteTimeoutSeconds?: number;
  triggers?: unknown;
  adopt?: boolean;
  resourceName?: string;
  ownerId?: string;
  autoNamed?: boolean;
};

/** Inputs the Resource classes and check set, never the user: not listed to users, never a change. */
export const INTERNAL_INPUTS = ["resourceName", "ownerId", "autoNamed"];

/** Inputs whose change means a new object (besides the kind's own spec inputs); all others change in place. */
export const IDENTITY_INPUTS = ["name", "namespace", "triggers"];

export interface CheckFailure {
  property: string;
  reason: string;
}

export const containsUnknown = (v: unknown): boolean =>
  v === UNKNOWN ||
  (Array.isArray(v)
    ? v.some(containsUnknown)
    : !!v && typeof v === "object" && Object.values(v).some(containsUnknown));

/**
 * Validates `news` against the kind's schema. Values not known yet pass unvalidated and unchanged.
 * Returns the inputs with defaults applied (never an undefined value), or the failures.
 */
export function validate(
  shape: z.ZodRawShape,
  news: Record<string, unknown>,
): { inputs: Record<string, unknown>; failures: CheckFailure[] } {
  const known: Record<string, unknown> = {};
  const unknown: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(news)) {
    if (k === "__provider" || v === undefined || v === null) continue;
    (containsUnknown(v) ? unknown : known)[k] = v;
  }
  const notAnInput = (path: string) => ({
    property: path,
    reason: `"${path}" is not an input of this resource; the inputs are: ${Object.keys(shape)
      .filter((k) => !INTERNAL_INPUTS.includes(k))
      .join(", ")}`,
  });
  const failures: CheckFailure[] = Object.keys(unknown)
    .filter((k) => !(k in shape))
    .map(notAnInput);
  // Inputs not known yet are left out of validation, so a required one is not reported missing.
  const schema = Object.keys(unknown).length
    ? z.strictObject(Object.fromEntries(Object.entries(shape).filter(([k]) => !(k in unknown))))
    : schemaOf(shape);
  const result = schema.safeParse(known, { reportInput: true });
  if (result.success && !failures.length) {
    return { inputs: { ...dropUndefined(result.data as Record<string, unknown>), ...unknown }, failures: [] };
  }
  for (const issue of result.error?.issues ?? []) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) failures.push(notAnInput([...issue.path, key].map(String).join(".")));
      continue;
    }
    const property = issue.path.map(String).join(".");
    failures.push({ property, reason: reasonOf(issue, property) });
  }
  return { inputs: {}, failures };
}

// Building a zod schema costs more than using it: one per kind, made on first use.
const schemas = new WeakMap<z.ZodRawShape, z.ZodObject>();
function schemaOf(shape: z.ZodRawShape): z.ZodObject {
  let schema = schemas.get(shape);
  if (!schema) schemas.set(shape, (schema = z.strictObject(shape)));
  return schema;
}

function reasonOf(issue: z.core.$ZodIssue, property: string): string {
  if (issue.code === "invalid_type" && issue.input === undefined) return `${property} is required`;
  if (issue.code === "invalid_value" && "values" in issue) {
    return `${property} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}; got ${JSON.stringify(issue.input)}`;
  }
  return issue.message;
}

const dropUndefined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * The object's name: the user's, the one already chosen for this resource (stable across updates),
 * or a new `<pulumi name>-<suffix>` (a first create, or a replacement, where the engine sends no olds).
 */
export function chooseName(
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): { name: string; autoNamed: boolean } {
  if (typeof news.name === "string") return { name: news.name, autoNamed: false };
  if (typeof olds.name === "string" && olds.autoNamed === true) return { name: olds.name, autoNamed: true };
  const base = String(news.resourceName ?? "snapshot")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 55)
    .replace(/-+$/, "");
  return { name: `${base || "snapshot"}-${randomSuffix()}`, autoNamed: true };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const SUFFIX_LENGTH = 7;
// Random bytes drawn a page at a time: a thousand Checks at once would otherwise make a thousand small draws.
let pool = Buffer.alloc(0);
let drawn = 0;
function randomSuffix(): string {
  if (drawn + SUFFIX_LENGTH > pool.length) [pool, drawn] = [randomBytes(4096), 0];
  let suffix = "";
  for (let i = 0; i < SUFFIX_LENGTH; i++) suffix += ALPHABET[pool[drawn++] % ALPHABET.length];
  return suffix;
}
