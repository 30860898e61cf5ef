// The two patch formats the apiserver accepts for custom resources.
import { isDeepStrictEqual } from "node:util";
import { StatusError } from "./store";

/** A JSON object: not null, not an array. */
export const isJsonObject = (v: unknown): v is Record<string, any> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** RFC 7386 JSON merge patch: objects merge key by key, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

export interface JsonPatchOperation {
  op: "add" | "remove" | "replace" | "move" | "copy" | "test";
  path: string;
  from?: string;
  value?: unknown;
}

// Errors applying a well-formed patch are 422, as the apiserver answers them.
const cannotApply = (message: string) => new StatusError(422, "Invalid", message);

function pointer(path: string): string[] {
  if (path === "") return [];
  if (!path.startsWith("/")) throw cannotApply(`json patch path "${path}" must start with "/"`);
  return path
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The container holding the last token of `path`, and that token. */
function parentOf(doc: unknown, path: string): [Record<string, unknown> | unknown[], string] {
  const tokens = pointer(path);
  if (!tokens.length) throw cannotApply(`json patch path "${path}" cannot address the whole document here`);
  let node: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    node = Array.isArray(node) ? node[Number(t)] : isJsonObject(node) ? node[t] : undefined;
    if (node === undefined) throw cannotApply(`json patch path "${path}": "${t}" does not exist`);
  }
  if (!Array.isArray(node) && !isJsonObject(node)) {
    throw cannotApply(`json patch path "${path}": parent is not an object or array`);
  }
  return [node, tokens[tokens.length - 1]];
}

function arrayIndex(arr: unknown[], token: string, path: string, forInsert: boolean): number {
  if (forInsert && token === "-") return arr.length;
  const i = Number(token);
  if (!/^(0|[1-9][0-9]*)$/.test(token) || i > arr.length - (forInsert ? 0 : 1)) {
    throw cannotApply(`json patch path "${path}": index ${token} is out of bounds`);
  }
  return i;
}

function read(doc: unknown, path: string): unknown {
  if (path === "") return doc;
  const [parent, token] = parentOf(doc, path);
  const value = Array.isArray(parent) ? parent[arrayIndex(parent, token, path, false)] : parent[token];
  if (value === undefined) throw cannotApply(`json patch path "${path}" does not exist`);
  return value;
}

function add(doc: unknown, path: string, value: unknown): unknown {
  if (path === "") return value;
  const [parent, token] = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, path, true), 0, value);
  else parent[token] = value;
  return doc;
}

function remove(doc: unknown, path: string): unknown {
  const [parent, token] = parentOf(doc, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, path, false), 1);
  else if (!(token in parent)) throw cannotApply(`json patch path "${path}" does not exist`);
  else delete parent[token];
  return doc;
}

/** RFC 6902 JSON patch, applied to a copy of `target`. */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw new StatusError(400, "BadRequest", "a json patch must be an array of operations");
  }
  let doc = structuredClone(target);
  for (const [i, o] of (operations as JsonPatchOperation[]).entries()) {
    if (!isJsonObject(o) || typeof o.path !== "string") {
      throw new StatusError(400, "BadRequest", `json patch operation ${i} has no "path"`);
    }
    const value = () => {
      if (!("value" in o))
        throw new StatusError(400, "BadRequest", `json patch operation ${i} has no "value"`);
      return structuredClone(o.value);
    };
    const from = () => {
      if (typeof o.from !== "string")
        throw new StatusError(400, "BadRequest", `json patch operation ${i} has no "from"`);
      return o.from;
    };
    switch (o.op) {
      case "add":
        doc = add(doc, o.path, value());
        break;
      case "remove":
        doc = remove(doc, o.path);
        break;
      case "replace":
        read(doc, o.path);
        doc = o.path === "" ? value() : add(remove(doc, o.path), o.path, value());
        break;
      case "move": {
        const moved = read(doc, from());
        doc = add(remove(doc, from()), o.path, moved);
        break;
      }
      case "copy":
        doc = add(doc, o.path, structuredClone(read(doc, from())));
        break;
      case "test":
        if (!isDeepStrictEqual(read(doc, o.path), value())) {
          throw cannotApply(
            `json patch test operation ${i} failed: "${o.path}" differs from the expected value`,
          );
        }
        break;
      default:
        throw new StatusError(
          400,
          "BadRequest",
          `json patch operation ${i} has unknown op "${String(o.op)}"`,
        );
    }
  }
  return doc;
}
