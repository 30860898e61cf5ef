// Starts Pulumi's real Node.js dynamic-provider host the way the engine does and speaks its gRPC protocol,
// so tests see what `pulumi up` would see without the CLI: same script, cwd, environment, RPCs and errors.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import * as readline from "node:readline";
import type * as grpcJs from "@grpc/grpc-js";
import type { ResourceProviderClient } from "@pulumi/pulumi/proto/provider_grpc_pb";
import { kill, killOnExit, runningInGroup, signal } from "./processes";
import { decodeError, loadProtocol, type Properties, type Protocol } from "./protocol";
import { projectName } from "./project";
import { withRepoPath } from "./repo";
import { makeUrn, parseUrn } from "./urn";
import { checkResponse, createResponse, MessageWriter, readMessage, type MessageSpec } from "./wire";

export { PartialFailure, RpcError, type Properties } from "./protocol";

export interface HostOptions {
  /** The Pulumi project directory: the host's cwd, where provider code resolves its modules from. */
  cwd: string;
  /** The whole stack config with namespaced keys ("project:key"), as the engine passes it. */
  config?: Record<string, string>;
  /** Added to the CLI's environment (this process's), before the variables the engine sets. */
  env?: NodeJS.ProcessEnv;
  /** The project name; defaults to `name` in `<cwd>/Pulumi.yaml`. */
  project?: string;
  /** Pulumi.yaml `runtime.options`, passed as PULUMI_RUNTIME_<KEY>. */
  runtimeOptions?: Record<string, string>;
  /** Called with every line the host prints, its port line aside. */
  onLine?: (line: LogLine) => void;
  /** How long to wait for the port line. */
  startTimeoutMs?: number;
}

/** A line the host printed; `pulumi up` shows these as stack-level diagnostics. */
export interface LogLine {
  stream: "stdout" | "stderr";
  line: string;
}

/** An RPC as it was sent, `at` ms after the host was spawned. */
export interface SentRpc {
  /** The RPC's name in the proto: "Check", "Create", "Delete"... */
  method: string;
  urn: string;
  at: number;
}

export interface CheckFailure {
  property: string;
  reason: string;
}

export type DiffChanges = "DIFF_UNKNOWN" | "DIFF_NONE" | "DIFF_SOME";

/** The engine dials the address it passes; the dynamic host only checks that an argument is there. */
const unusedEngineAddress = "127.0.0.1:1";

/**
 * The engine's gRPC client (Go) widens its receive windows as it measures the connection, up to 16 MiB; grpc-js
 * keeps HTTP/2's 64 KiB unless told, and a thousand answers at once would wait on window updates.
 */
const flowControlWindowBytes = 16 * 1024 * 1024;

/** The engine's own limit on gRPC messages (the serialized provider travels in every property bag). */
const maxMessageBytes = 400 * 1024 * 1024;

export async function startHost(options: HostOptions): Promise<Host> {
  const cwd = path.resolve(options.cwd);
  const protocol = loadProtocol(cwd);
  const project = options.project ?? projectName(cwd);
  const config = options.config ?? {};
  const env: NodeJS.ProcessEnv = {
    ...withRepoPath({ ...process.env, ...options.env }),
    ...runtimeEnv(options.runtimeOptions ?? {}),
    PULUMI_NODEJS_PROJECT: project,
    PULUMI_PROJECT: project,
    PULUMI_CONFIG: JSON.stringify(config),
  };
  const script = path.join(protocol.pulumiDir, "pulumi-resource-pulumi-nodejs");
  const spawnedAt = performance.now();
  // Its own process group: the script runs `node` as a child, and stop() must end both.
  const child = spawn(script, [unusedEngineAddress], { cwd, env, detached: true, stdio: "pipe" });
  const forget = killOnExit(child, true);
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  closed.then(forget);
  const output = new HostOutput(child, options.onLine);

  try {
    const port = await readPort(child, output, options.startTimeoutMs ?? 30_000);
    const coldStartMs = performance.now() - spawnedAt;
    return new Host({ cwd, project, config, protocol, child, closed, output, port, coldStartMs, spawnedAt });
  } catch (e) {
    signal(child, "SIGKILL", true);
    await closed;
    throw e;
  }
}

/** The host's output as the engine reads it: the first stdout line is the port, every other line a log. */
class HostOutput {
  readonly logs: LogLine[] = [];
  readonly listeners = new Set<(line: LogLine) => void>();
  readonly portLine: Promise<string>;

  constructor(child: ChildProcess, onLine?: (line: LogLine) => void) {
    if (onLine) this.listeners.add(onLine);
    let port: (line: string) => void;
    this.portLine = new Promise((resolve) => (port = resolve));
    let portSeen = false;
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      if (portSeen) return this.emit({ stream: "stdout", line });
      portSeen = true;
      port(line);
    });
    readline
      .createInterface({ input: child.stderr! })
      .on("line", (line) => this.emit({ stream: "stderr", line }));
  }

  private emit(line: LogLine): void {
    this.logs.push(line);
    for (const listener of this.listeners) listener(line);
  }
}

/** Resolves with the port the host prints alone on its first stdout line. */
function readPort(child: ChildProcess, output: HostOutput, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      cleanup();
      const stderr = output.logs.filter((l) => l.stream === "stderr").map((l) => l.line);
      reject(
        new Error(`dynamic-provider host ${why}${stderr.length ? `; stderr:\n${stderr.join("\n")}` : ""}`),
      );
    };
    const timer = setTimeout(() => fail(`printed no port within ${timeoutMs} ms`), timeoutMs);
    // 'close' rather than 'exit', so that everything the host printed has been read.
    const onClose = (code: number | null, sig: string | null) =>
      fail(`exited (${sig ?? code}) before its port line`);
    const cleanup = () => {
      clearTimeout(timer);
      child.off("close", onClose);
    };
    child.once("close", onClose);
    output.portLine.then((line) => {
      cleanup();
      if (/^\d+$/.test(line.trim())) resolve(Number(line));
      else reject(new Error(`dynamic-provider host printed "${line}" where the engine expects its port`));
    });
  });
}

function runtimeEnv(options: Record<string, string>): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(options).map(([k, v]) => [`PULUMI_RUNTIME_${k.toUpperCase()}`, v]),
  );
}

interface HostParts {
  cwd: string;
  project: string;
  config: Record<string, string>;
  protocol: Protocol;
  child: ChildProcess;
  closed: Promise<void>;
  output: HostOutput;
  port: number;
  coldStartMs: number;
  spawnedAt: number;
}

/** A running dynamic-provider host and a gRPC client of it; every method is one engine RPC. */
export class Host {
  readonly cwd: string;
  readonly project: string;
  readonly config: Record<string, string>;
  readonly port: number;
  /** From spawn until the port line, in ms. */
  readonly coldStartMs: number;
  /** Every line printed (stderr from the start, stdout after the port line), in order. */
  readonly logs: LogLine[];
  /** Every RPC sent, in order. */
  readonly sent: SentRpc[] = [];
  /** The URN of the default provider the engine configures. */
  readonly providerUrn: string;
  /** The @pulumi/pulumi the host script was run from (the project's own). */
  readonly pulumiDir: string;
  /** The host's process id, which leads its process group. */
  readonly pid: number;

  private readonly protocol: Protocol;
  private readonly child: ChildProcess;
  private readonly closed: Promise<void>;
  private readonly spawnedAt: number;
  private readonly client: ResourceProviderClient;
  private readonly output: HostOutput;
  private stopping?: Promise<void>;

  constructor(parts: HostParts) {
    this.cwd = parts.cwd;
    this.project = parts.project;
    this.config = parts.config;
    this.port = parts.port;
    this.coldStartMs = parts.coldStartMs;
    this.protocol = parts.protocol;
    this.pulumiDir = parts.protocol.pulumiDir;
    this.child = parts.child;
    this.pid = parts.child.pid!;
    this.closed = parts.closed;
    this.spawnedAt = parts.spawnedAt;
    this.output = parts.output;
    this.logs = parts.output.logs;
    const type = "pulumi:providers:pulumi-nodejs";
    this.providerUrn = makeUrn({ stack: "test", project: this.project, type, name: "default" });
    const { grpc, services } = this.protocol;
    this.client = new services.ResourceProviderClient(
      `127.0.0.1:${this.port}`,
      grpc.credentials.createInsecure(),
      {
        "grpc.max_receive_message_length": maxMessageBytes,
        "grpc.max_send_message_length": maxMessageBytes,
        "grpc-node.flow_control_window": flowControlWindowBytes,
      },
    );
  }

  /** Calls `listener` with every later line; returns the function that unsubscribes it. */
  onLine(listener: (line: LogLine) => void): () => void {
    this.output.listeners.add(listener);
    return () => this.output.listeners.delete(listener);
  }

  /** Resolves with the first line (already printed or still to come) that matches. */
  waitForLine(match: string | RegExp, timeoutMs = 5_000): Promise<LogLine> {
    const matches = (l: LogLine) => (typeof match === "string" ? l.line.includes(match) : match.test(l.line));
    const seen = this.logs.find(matches);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        const tail = this.logs.slice(-10).map((l) => `  ${l.stream}: ${l.line}`);
        reject(
          new Error(
            `the host printed no line matching ${match} within ${timeoutMs} ms; last lines:\n${tail.join("\n")}`,
          ),
        );
      }, timeoutMs);
      const off = this.onLine((line) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        off();
        resolve(line);
      });
    });
  }

  /** The engine's first call; the dynamic host answers UNIMPLEMENTED, which gives `undefined`. */
  async handshake(): Promise<{ acceptSecrets: boolean; acceptResources: boolean } | undefined> {
    const req = new this.protocol.provider.ProviderHandshakeRequest()
      .setEngineAddress(unusedEngineAddress)
      .setRootDirectory(this.cwd)
      .setProgramDirectory(this.cwd)
      .setConfigureWithUrn(true);
    const res = await this.unimplementedIsUndefined(this.rpc<any>("handshake", "", req));
    return res && { acceptSecrets: res.getAcceptSecrets(), acceptResources: res.getAcceptResources() };
  }

  async getPluginInfo(): Promise<{ version: string }> {
    const res = await this.rpc<any>("getPluginInfo", "", new this.protocol.empty.Empty());
    return { version: res.getVersion() };
  }

  /** Validates the provider config; `undefined` means UNIMPLEMENTED, after which the engine uses it as is. */
  async checkConfig(config = this.config): Promise<CheckResult | undefined> {
    const req = this.namedFields(this.providerUrn, { urn: 1, name: 6, type: 7 })
      .struct(2, {})
      .struct(3, config);
    const res = await this.unimplementedIsUndefined(
      this.wireRpc("CheckConfig", this.providerUrn, req, checkResponse),
    );
    return res && checkResult(res);
  }

  /** Passes the whole stack config; the host stores it and hands it to each provider's `configure()`. */
  async configure(config = this.config): Promise<ConfigureResult> {
    const req = new this.protocol.provider.ConfigureRequest()
      .setArgs(this.toStruct(config))
      .setAcceptsecrets(true)
      .setAcceptresources(true)
      .setSendsOldInputs(true)
      .setSendsOldInputsToDelete(true)
      .setUrn(this.providerUrn)
      .setName("default")
      .setType("pulumi:providers:pulumi-nodejs");
    const res = await this.rpc<any>("configure", this.providerUrn, req);
    return {
      acceptSecrets: res.getAcceptsecrets(),
      supportsPreview: res.getSupportspreview(),
      acceptResources: res.getAcceptresources(),
    };
  }

  /** The engine sends a fresh random seed with every Check (for providers that generate values). */
  async check(urn: string, olds: Properties, news: Properties): Promise<CheckResult> {
    const req = this.namedFields(urn, { urn: 1, name: 6, type: 7 })
      .struct(2, olds)
      .struct(3, news)
      .bytes(5, randomBytes(32));
    return checkResult(await this.wireRpc("Check", urn, req, checkResponse));
  }

  /** `olds` are the stored outputs, `oldInputs` the stored inputs (the engine sends both). */
  async diff(
    urn: string,
    id: string,
    olds: Properties,
    news: Properties,
    oldInputs?: Properties,
  ): Promise<DiffResult> {
    const req = this.named(new this.protocol.provider.DiffRequest(), urn)
      .setId(id)
      .setOlds(this.toStruct(olds))
      .setNews(this.toStruct(news));
    if (oldInputs) req.setOldInputs(this.toStruct(oldInputs));
    const res = await this.rpc<any>("diff", urn, req);
    const names = this.protocol.provider.DiffResponse.DiffChanges;
    const changes = (Object.keys(names) as DiffChanges[]).find((k) => names[k] === res.getChanges())!;
    return { changes, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
  }

  async create(urn: string, properties: Properties): Promise<{ id: string; properties: Properties }> {
    const req = this.namedFields(urn, { urn: 1, name: 5, type: 6 }).struct(2, properties);
    const res = await this.wireRpc("Create", urn, req, createResponse);
    return { id: res.id ?? "", properties: res.properties ?? {} };
  }

  /** Refresh: `properties` are the stored outputs; an empty id in the answer means the object is gone. */
  async read(urn: string, id: string, properties: Properties, inputs?: Properties): Promise<ReadResult> {
    const req = this.named(new this.protocol.provider.ReadRequest(), urn)
      .setId(id)
      .setProperties(this.toStruct(properties));
    if (inputs) req.setInputs(this.toStruct(inputs));
    const res = await this.rpc<any>("read", urn, req);
    const returnedInputs = res.getInputs();
    return {
      id: res.getId(),
      properties: this.fromStruct(res.getProperties()),
      inputs: returnedInputs ? this.fromStruct(returnedInputs) : undefined,
    };
  }

  async update(
    urn: string,
    id: string,
    olds: Properties,
    news: Properties,
    oldInputs?: Properties,
  ): Promise<{ properties: Properties }> {
    const req = this.named(new this.protocol.provider.UpdateRequest(), urn)
      .setId(id)
      .setOlds(this.toStruct(olds))
      .setNews(this.toStruct(news));
    if (oldInputs) req.setOldInputs(this.toStruct(oldInputs));
    const res = await this.rpc<any>("update", urn, req);
    return { properties: this.fromStruct(res.getProperties()) };
  }

  /**
   * `properties` are the stored outputs: their `__provider` is the code that deletes. The engine sends the
   * stored inputs along (`oldInputs`), which the dynamic host reads past.
   */
  async delete(urn: string, id: string, properties: Properties, oldInputs?: Properties): Promise<void> {
    const req = this.namedFields(urn, { urn: 2, name: 6, type: 7 })
      .string(1, id)
      .struct(3, properties)
      .struct(5, oldInputs);
    await this.wireRpc("Delete", urn, req, {});
  }

  /** What the engine sends on Ctrl-C; the dynamic host only acknowledges it. */
  async cancel(): Promise<void> {
    await this.rpc("cancel", "", new this.protocol.empty.Empty());
  }

  /** Closes the channel and ends the host process and its children; safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.client.close();
      // Ending `node` first lets the script reap it and exit; killing the script first leaves a zombie
      // wherever PID 1 does not reap orphans (containers, microVMs).
      const hostProcesses = runningInGroup(this.pid).filter((pid) => pid !== this.pid);
      if (hostProcesses.length === 0) signal(this.child, "SIGTERM", true);
      for (const pid of hostProcesses) kill(pid, "SIGTERM");
      const hardStop = setTimeout(() => signal(this.child, "SIGKILL", true), 2_000);
      await this.closed; // 'close' comes once the grandchild `node` has let go of the pipes too
      clearTimeout(hardStop);
    })();
    return this.stopping;
  }

  private named<T extends { setUrn(v: string): T; setName(v: string): T; setType(v: string): T }>(
    req: T,
    urn: string,
  ): T {
    const { name, type } = parseUrn(urn);
    return req.setUrn(urn).setName(name).setType(type);
  }

  /** A request's urn, name and type, at the field numbers its message gives them. */
  private namedFields(urn: string, fields: { urn: number; name: number; type: number }): MessageWriter {
    const { name, type } = parseUrn(urn);
    return new MessageWriter().string(fields.urn, urn).string(fields.name, name).string(fields.type, type);
  }

  /** Sends one RPC written with ./wire and reads its answer by `spec`. */
  private wireRpc(method: string, urn: string, req: MessageWriter, spec: MessageSpec): Promise<any> {
    return this.call(method, urn, (done) =>
      this.client.makeUnaryRequest(
        `/pulumirpc.ResourceProvider/${method}`,
        (bytes: Buffer) => bytes,
        (bytes: Buffer) => readMessage(bytes, spec),
        req.finish(),
        done,
      ),
    );
  }

  /** Sends one RPC; `clientMethod` is the generated client's name for it ("getPluginInfo"). */
  private rpc<T>(clientMethod: string, urn: string, request: unknown): Promise<T> {
    const method = clientMethod[0].toUpperCase() + clientMethod.slice(1); // the RPC's name in the proto
    return this.call(method, urn, (done) => (this.client as any)[clientMethod](request, done));
  }

  /** Records the RPC as sent and turns its answer into a promise; an error names the RPC and the resource. */
  private call<T>(
    method: string,
    urn: string,
    send: (done: (err: grpcJs.ServiceError | null, res?: T) => void) => void,
  ): Promise<T> {
    this.sent.push({ method, urn, at: performance.now() - this.spawnedAt });
    return new Promise((resolve, reject) =>
      send((err, res) => {
        if (err) reject(decodeError(this.protocol, method, urn, err));
        else resolve(res as T);
      }),
    );
  }

  private async unimplementedIsUndefined<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (e: any) {
      if (e.code === this.protocol.grpc.status.UNIMPLEMENTED) return undefined;
      throw e;
    }
  }

  private toStruct(value: Properties) {
    return this.protocol.struct.Struct.fromJavaScript(value);
  }

  private fromStruct(struct: { toJavaScript(): Properties } | undefined): Properties {
    return struct?.toJavaScript() ?? {};
  }
}

/** A CheckResponse (Check or CheckConfig) as ./wire reads it; absent fields are proto3 defaults. */
function checkResult(res: any): CheckResult {
  return {
    inputs: res.inputs ?? {},
    failures: (res.failures ?? []).map((f: any) => ({ property: f.property ?? "", reason: f.reason ?? "" })),
  };
}

export interface CheckResult {
  inputs: Properties;
  failures: CheckFailure[];
}

export interface DiffResult {
  changes: DiffChanges;
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface ReadResult {
  id: string;
  properties: Properties;
  /** Inputs the provider's read returned to replace the stored ones, if any. */
  inputs?: Properties;
}

export interface ConfigureResult {
  acceptSecrets: boolean;
  supportsPreview: boolean;
  acceptResources: boolean;
}
