// labelSelector and fieldSelector query parameters, parsed once per request into a predicate.
import { StatusError, type KubeObject } from "./store";

export type ObjectPredicate = (obj: KubeObject) => boolean;

const badRequest = (message: string) => new StatusError(400, "BadRequest", message);

/** Splits on commas outside parentheses: `a in (x,y),b` has two requirements. */
function requirements(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === "(") depth++;
    else if (selector[i] === ")") depth--;
    else if (selector[i] === "," && depth === 0) {
      parts.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(selector.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

const KEY = String.raw`[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?`;
const VALUE = String.raw`([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const COMPARE = new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*(${VALUE})$`);

function labelRequirement(text: string, selector: string): (labels: Record<string, string>) => boolean {
  let m = EXISTS.exec(text);
  if (m) {
    const [, not, key] = m;
    return not ? (l) => !(key in l) : (l) => key in l;
  }
  m = SET.exec(text);
  if (m) {
    const [, key, , op, list] = m;
    const values = new Set(list.split(",").map((v) => v.trim()));
    return op === "in" ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
  }
  m = COMPARE.exec(text);
  if (m) {
    const [, key, , op, value] = m;
    switch (op) {
      case "!=":
        return (l) => l[key] !== value;
      case ">":
      case "<": {
        const bound = Number(value);
        if (!Number.isInteger(bound)) {
          throw badRequest(`labelSelector "${selector}": "${text}" compares with a non-integer value`);
        }
        return (l) => key in l && (op === ">" ? Number(l[key]) > bound : Number(l[key]) < bound);
      }
      default:
        return (l) => l[key] === value;
    }
  }
  throw badRequest(`labelSelector "${selector}": unable to parse requirement "${text}"`);
}

export function parseLabelSelector(selector: string | null): ObjectPredicate | undefined {
  if (!selector) return undefined;
  const tests = requirements(selector).map((r) => labelRequirement(r, selector));
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return tests.every((t) => t(labels));
  };
}

/** Custom resources support only these field selectors (as CRDs without selectableFields). */
const FIELDS: Record<string, (obj: KubeObject) => string> = {
  "metadata.name": (o) => o.metadata.name ?? "",
  "metadata.namespace": (o) => o.metadata.namespace ?? "",
};

export interface FieldSelector {
  matches: ObjectPredicate;
  /** The one name the selector pins (`metadata.name=x`), which lets watches be indexed by name. */
  name?: string;
  /** The one namespace the selector pins (`metadata.namespace=x`). */
  namespace?: string;
}

export function parseFieldSelector(selector: string | null): FieldSelector | undefined {
  if (!selector) return undefined;
  const tests: ObjectPredicate[] = [];
  const pinned: Record<string, string> = {};
  for (const text of requirements(selector)) {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(text);
    if (!m) throw badRequest(`fieldSelector "${selector}": invalid selector "${text}": expected field=value`);
    const [, field, op, value] = m;
    const get = FIELDS[field];
    if (!get) throw badRequest(`fieldSelector "${selector}": field label not supported: ${field}`);
    if (op === "!=") tests.push((o) => get(o) !== value);
    else {
      tests.push((o) => get(o) === value);
      pinned[field] = value;
    }
  }
  return {
    matches: (obj) => tests.every((t) => t(obj)),
    name: pinned["metadata.name"],
    namespace: pinned["metadata.namespace"],
  };
}

/** Which objects a list or watch request asks for: URL scope plus both selectors. */
export interface Selection {
  namespace?: string;
  name?: string;
  matches?: ObjectPredicate;
}

export function parseSelection(query: URLSearchParams, urlNamespace?: string, urlName?: string): Selection {
  const labels = parseLabelSelector(query.get("labelSelector"));
  const fields = parseFieldSelector(query.get("fieldSelector"));
  const tests = [labels, fields?.matches].filter((t): t is ObjectPredicate => !!t);
  if (urlName !== undefined) tests.push((o) => o.metadata.name === urlName);
  if (urlNamespace !== undefined) tests.push((o) => o.metadata.namespace === urlNamespace);
  return {
    namespace: urlNamespace ?? fields?.namespace,
    name: urlName ?? fields?.name,
    ...(tests.length ? { matches: (obj: KubeObject) => tests.every((t) => t(obj)) } : {}),
  };
}
