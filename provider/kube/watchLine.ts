// A watch event's head (its type, and its object's name and resourceVersion) read from the line as it came, without
// parsing the rest. A shared watch carries every change of every object of its kind and namespace: changes of
// objects nobody in this process waits for (another stack's, or one whose create is still being answered), and
// steps a waiting resource no longer needs because a newer one came in the same read. Those lines stay text, and
// are parsed only if someone asks for the object.
//
// The API server sends every object with its metadata.managedFields (an entry per client that wrote it, each with
// a tree of the fields it set), often the larger part of the metadata. Nothing here reads them, so an object is
// parsed without them: the walk that finds the name already knows where they are.

export interface WatchHead {
  type: string;
  /** metadata.name; absent for a BOOKMARK or an ERROR's Status. */
  name?: string;
  resourceVersion?: string;
  /** Where the object's metadata.managedFields are in the line, for eventObject. */
  managedFields?: Span;
}

/** The text of a member to leave out, with one of the commas around it: [from, to). */
export type Span = [number, number];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The head of `line`, a watch event as one JSON object (`{"type":…,"object":{…"metadata":{…}…}}`), or
 * undefined when the line is not laid out that way ("type" after "object", escapes in a name, not JSON): the
 * caller then parses it whole. Whatever it returns is what JSON.parse would give for those fields (the API
 * server writes no key twice).
 */
export function readHead(line: string): WatchHead | undefined {
  let type: string | undefined;
  let head: WatchHead | undefined;
  const end = members(line, skipSpace(line, 0), (key, at) => {
    if (key === "type") {
      const close = stringEnd(line, at);
      if (close < 0) return -1;
      type = plainString(line, at, close);
      return type === undefined ? -1 : close;
    }
    if (key === "object") {
      if (type === undefined) return -1;
      const meta = readMetadata(line, at);
      if (!meta) return -1;
      head = { type, ...meta };
      return STOP;
    }
    return skipValue(line, at);
  });
  return end === STOP ? head : undefined;
}

/** The object of a watch line, as JSON.parse reads it but for the managedFields its head found. */
export function eventObject(line: string, managedFields: Span | undefined): any {
  return JSON.parse(without(line, managedFields)).object;
}

/**
 * An API answer's JSON, but for the managedFields of the object it is (found when its metadata comes after
 * nothing but apiVersion and kind, as the API server writes an object; anything else is parsed whole).
 */
export function parseAnswer(text: string): any {
  let skip: Span | undefined;
  members(text, skipSpace(text, 0), (key, at) => {
    if (key === "apiVersion" || key === "kind") return skipValue(text, at);
    if (key === "metadata") skip = metadataFields(text, at)?.managedFields;
    return STOP;
  });
  return JSON.parse(without(text, skip));
}

const without = (text: string, skip: Span | undefined) =>
  skip ? text.slice(0, skip[0]) + text.slice(skip[1]) : text;

type MetadataFields = Omit<WatchHead, "type">;

/** The name and resourceVersion in the metadata of the object at `at`, and where its managedFields are. */
function readMetadata(line: string, at: number): MetadataFields | undefined {
  let found: MetadataFields | undefined;
  const end = members(line, at, (key, valueAt) => {
    if (key !== "metadata") return skipValue(line, valueAt);
    found = metadataFields(line, valueAt);
    return found ? STOP : -1;
  });
  if (end === STOP) return found;
  return end < 0 ? undefined : {}; // an object without metadata
}

/** Reads name and resourceVersion from the metadata object at `at`, and finds its managedFields. */
function metadataFields(line: string, at: number): MetadataFields | undefined {
  const meta: MetadataFields = {};
  const metaEnd = members(line, at, (field, fieldAt, keyAt) => {
    if (field === "managedFields") {
      const end = skipValue(line, fieldAt);
      if (end >= 0) meta.managedFields = memberSpan(line, keyAt, end);
      return end;
    }
    if (field !== "name" && field !== "resourceVersion") return skipValue(line, fieldAt);
    const close = stringEnd(line, fieldAt);
    if (close < 0) return -1;
    const text = plainString(line, fieldAt, close);
    if (text === undefined) return -1;
    meta[field] = text;
    return close;
  });
  return metaEnd < 0 ? undefined : meta;
}

/** The member from `keyAt` to `end`, with the comma after it, or before it when it is the last one. */
function memberSpan(s: string, keyAt: number, end: number): Span {
  const after = skipSpace(s, end);
  if (s.charCodeAt(after) === COMMA) return [keyAt, after + 1];
  let before = keyAt - 1;
  while (before > 0 && isSpace(s.charCodeAt(before))) before--;
  return s.charCodeAt(before) === COMMA ? [before, end] : [keyAt, end];
}

const STOP = -2;

/**
 * Walks the members of the JSON object at `at`: `member` gets each key and the index of its value, and returns
 * the index just after that value, -1 to give up or STOP. Returns the index after the object, -1 or STOP.
 */
function members(
  s: string,
  at: number,
  member: (key: string, valueAt: number, keyAt: number) => number,
): number {
  if (s.charCodeAt(at) !== OPEN_OBJECT) return -1;
  let i = skipSpace(s, at + 1);
  if (s.charCodeAt(i) === CLOSE_OBJECT) return i + 1;
  for (;;) {
    const keyAt = i;
    const keyEnd = stringEnd(s, i);
    if (keyEnd < 0) return -1;
    const key = plainString(s, i, keyEnd);
    if (key === undefined) return -1;
    i = skipSpace(s, keyEnd);
    if (s.charCodeAt(i) !== COLON) return -1;
    i = member(key, skipSpace(s, i + 1), keyAt);
    if (i < 0) return i;
    i = skipSpace(s, i);
    const c = s.charCodeAt(i);
    if (c === CLOSE_OBJECT) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(s, i + 1);
  }
}

/** The index after the JSON value at `at`, or -1. */
function skipValue(s: string, at: number): number {
  const c = s.charCodeAt(at);
  if (c === QUOTE) return stringEnd(s, at);
  if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
    let depth = 0;
    for (let i = at; i < s.length; i++) {
      const d = s.charCodeAt(i);
      if (d === QUOTE) {
        const close = stringEnd(s, i);
        if (close < 0) return -1;
        i = close - 1;
      } else if (d === OPEN_OBJECT || d === OPEN_ARRAY) {
        depth++;
      } else if (d === CLOSE_OBJECT || d === CLOSE_ARRAY) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = at;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i);
    if (d === COMMA || d === CLOSE_OBJECT || d === CLOSE_ARRAY || d <= 0x20) break;
  }
  return i > at ? i : -1;
}

/** `s[at]` must open a string: the index after its closing quote, or -1. */
function stringEnd(s: string, at: number): number {
  if (s.charCodeAt(at) !== QUOTE) return -1;
  let i = at;
  for (;;) {
    i = s.indexOf('"', i + 1);
    if (i < 0) return -1;
    let backslashes = 0;
    while (s.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i + 1;
  }
}

/** The text of the string between `at` and `close`, if it has no escape (keys, names and versions never need one). */
function plainString(s: string, at: number, close: number): string | undefined {
  const text = s.slice(at + 1, close - 1);
  return text.includes("\\") ? undefined : text;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(s: string, i: number): number {
  while (isSpace(s.charCodeAt(i))) i++;
  return i;
}
