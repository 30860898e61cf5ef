// Every request the emulator answered, so tests can assert how a client talked to the API.

/** The apiserver's verbs (as in audit logs); discovery and other non-resource paths are "get". */
export type Verb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

export interface RequestRecord {
  verb: Verb;
  /** Path without the query string. */
  path: string;
  query: string;
  watch: boolean;
  /** HTTP status of the response; 200 for a watch stream that started. */
  code: number;
  /** When the request arrived (ms since the epoch). */
  time: number;
  /** The HTTP version the client spoke: "2.0" or "1.1". */
  httpVersion: string;
  /** The client's User-Agent header, as the audit log shows it. */
  userAgent?: string;
}

export interface RequestMatch {
  verb?: Verb;
  watch?: boolean;
  pathIncludes?: string;
  code?: number;
}

export const matches = (
  r: Pick<RequestRecord, "verb" | "path" | "watch"> & { code?: number },
  m: RequestMatch,
) =>
  (m.verb === undefined || m.verb === r.verb) &&
  (m.watch === undefined || m.watch === r.watch) &&
  (m.pathIncludes === undefined || r.path.includes(m.pathIncludes)) &&
  (m.code === undefined || m.code === r.code);

export class RequestLog {
  private entries: RequestRecord[] = [];
  private open = 0;
  private peak = 0;
  private accepted = 0;

  record(entry: RequestRecord): void {
    this.entries.push(entry);
  }

  /** Every recorded request since the last reset, oldest first. */
  all(match?: RequestMatch): RequestRecord[] {
    return match ? this.entries.filter((r) => matches(r, match)) : [...this.entries];
  }

  count(match?: RequestMatch): number {
    return this.all(match).length;
  }

  watchOpened(): void {
    this.open++;
    this.peak = Math.max(this.peak, this.open);
  }

  watchClosed(): void {
    this.open--;
  }

  /** Watch streams open right now. */
  openWatches(): number {
    return this.open;
  }

  /** The most watch streams open at once since the last reset. */
  peakWatches(): number {
    return this.peak;
  }

  connectionAccepted(): void {
    this.accepted++;
  }

  /** TCP connections clients opened since the last reset. */
  connections(): number {
    return this.accepted;
  }

  /** Forgets recorded requests and connections; the peak restarts from the watches open now. */
  reset(): void {
    this.entries = [];
    this.peak = this.open;
    this.accepted = 0;
  }
}
