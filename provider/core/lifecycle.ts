// The generic dynamic-provider lifecycle, built from a KindDescription: check, diff, create (and wait),
// read, update (metadata only) and delete (and wait until gone). Every object this creates is either in
// Pulumi state (a result or a partial failure carrying its id) or deleted again before the error.
import { isDeepStrictEqual } from "node:util";
import { connect, KubeconfigError, readKubeconfig, type Cluster } from "../kube/cluster";
import {
  apiVersionOf,
  ClusterError,
  createObject,
  deleteObject,
  describe,
  getObject,
  patchObject,
  type KubeObject,
  type ObjectRef,
} from "../kube/objects";
import { waitLimit } from "../kube/abort";
import { observe } from "../kube/watch";
import { clusterSettings, stackSettings } from "./config";
import { cancellation } from "./cancellation";
import { flushProgress, say } from "./progress";
import { sendRound } from "./rounds";
import {
  chooseName,
  containsUnknown,
  DEFAULT_DELETE_TIMEOUT_SECONDS,
  DEFAULT_WAIT_TIMEOUT_SECONDS,
  IDENTITY_INPUTS,
  INTERNAL_INPUTS,
  sharedInputs,
  validate,
  type CheckFailure,
  type SharedInputs,
} from "./inputs";
import type { Json, KindContext, KindDescription, KindVariant, Reading } from "./kind";

/** Marks objects this provider created, so a retried create can recognise its own object. */
export const OWNER_ANNOTATION = "pulumi-vm-snapshots/resource";
const DEFAULT_DESCRIPTION_ANNOTATION = "description";

type Inputs = SharedInputs & Record<string, any>;
type Props = Record<string, any>;

interface Target {
  cluster: Cluster;
  ref: ObjectRef;
  variant: KindVariant;
  ctx: KindContext;
}

/** The engine keeps a resource whose create or update throws this (with its id) in state. */
export class PartialFailure extends Error {
  constructor(
    readonly id: string,
    readonly properties: Props,
    readonly reasons: string[],
  ) {
    super(reasons.join("; "));
  }
}

export class Lifecycle {
  private readonly shape;

  constructor(readonly kind: KindDescription) {
    this.shape = { ...sharedInputs, ...kind.inputs };
  }

  async check(olds: Props, news: Props): Promise<{ inputs?: Props; failures?: CheckFailure[] }> {
    const { inputs, failures } = validate(this.shape, news);
    if (failures.length) return { failures };
    if (this.kind.check && !containsUnknown(inputs)) {
      const problems = this.kind.check(inputs);
      if (problems.length) return { failures: problems };
    }
    if (!containsUnknown(news.name)) Object.assign(inputs, chooseName(olds, inputs));
    const explicit = inputs.kubeconfig !== undefined || inputs.context !== undefined;
    if (
      (inputs.namespace === undefined || explicit) &&
      !containsUnknown(inputs.kubeconfig) &&
      !containsUnknown(inputs.context)
    ) {
      try {
        // A kubeconfig or context given as an input is checked here, at preview, even when it is not needed yet.
        if (inputs.namespace !== undefined) readKubeconfig(clusterSettings(inputs as Inputs));
        else
          inputs.namespace =
            stackSettings().namespace ?? (await connect(clusterSettings(inputs as Inputs))).namespace;
      } catch (e) {
        if (!(e instanceof KubeconfigError)) throw e;
        return {
          failures: [
            {
              property: inputs.context && e.message.startsWith("Context") ? "context" : "kubeconfig",
              reason: e.message,
            },
          ],
        };
      }
    }
    return { inputs };
  }

  async diff(_id: string, olds: Props, news: Props) {
    const changed: string[] = [];
    for (const key of Object.keys(this.shape)) {
      if (INTERNAL_INPUTS.includes(key)) continue;
      const next = news[key];
      if (key === "namespace" && next === undefined) continue; // not resolvable yet (kubeconfig unknown)
      if (containsUnknown(next) || !isDeepStrictEqual(olds[key] ?? null, next ?? null)) changed.push(key);
    }
    const updatable = this.kind.updatableInputs ?? [];
    const replaces = changed.filter(
      (k) => IDENTITY_INPUTS.includes(k) || (k in this.kind.inputs && !updatable.includes(k)),
    );
    return {
      changes: changed.length > 0,
      replaces,
      // A fixed name cannot exist twice: delete the old object first. A generated one gets a new name.
      deleteBeforeReplace: replaces.length > 0 && news.autoNamed !== true,
    };
  }

  // What the engine calls: each returns once its progress lines are out.
  create(inputs: Props): Promise<{ id: string; outs: Props }> {
    return this.createAndWait(inputs).finally(flushProgress);
  }

  read(id: string, props: Props | undefined): Promise<{ id?: string; props?: Props }> {
    return this.readObject(id, props ?? {}).finally(flushProgress);
  }

  update(id: string, olds: Props, news: Props): Promise<{ outs: Props }> {
    return this.updateObject(id, olds, news).finally(flushProgress);
  }

  delete(id: string, props: Props): Promise<void> {
    return this.deleteAndWait(id, props).finally(flushProgress);
  }

  private async createAndWait(inputs: Props): Promise<{ id: string; outs: Props }> {
    const target = await this.target(inputs);
    await this.kind.prepare?.(target.ctx, inputs);
    const manifest = this.manifest(target, inputs);
    await sendRound();
    const seconds = inputs.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS;
    const cancel = cancellation();
    const deadline = waitLimit(seconds * 1000, cancel);
    let object: KubeObject;
    try {
      object = await createObject(target.cluster, target.ref, manifest, deadline.signal);
      this.say(target.ref, "created");
    } catch (e) {
      if (e instanceof ClusterError && e.status === 409 && e.reason === "AlreadyExists") {
        object = await this.adopt(target, inputs, manifest);
      } else if (e instanceof ClusterError && e.status >= 400) {
        throw e;
      } else {
        const why = cancel.aborted
          ? "it was cancelled"
          : deadline.timedOut
            ? `no answer within ${seconds}s (waitTimeoutSeconds)`
            : (e as Error).message;
        const what = `creating ${describe(target.ref)} on ${target.cluster.server} stopped: ${why}`;
        if (!(e as { sent?: boolean }).sent) {
          if (e instanceof ClusterError) throw e;
          throw new Error(`${what}; nothing was sent`);
        }
        throw this.kept(target, inputs, undefined, [
          `${what}; the cluster may have it, so it is kept in the stack and the next "pulumi up" checks`,
        ]);
      }
    } finally {
      deadline.release();
    }
    return this.settle(target, inputs, object);
  }

  private async readObject(id: string, props: Props): Promise<{ id?: string; props?: Props }> {
    const target = await this.target(props);
    const object = await this.recordOf(target);
    if (!object) {
      // A finished operation's record may be garbage-collected; its outcome stays what was recorded.
      if (this.kind.oneShot && props.phase) return { id, props: publicOf(props) };
      this.say(target.ref, "no longer exists in the cluster; removing it from the stack");
      return {};
    }
    const reading = target.variant.read(object, props);
    if (reading.verdict.state === "failed" && props.phase !== reading.phase) {
      this.say(target.ref, `warning: is now ${reading.phase}: ${reading.reason}: ${reading.message}`);
    }
    return { id, props: this.outputs(target, props, object) };
  }

  private async updateObject(_id: string, olds: Props, news: Props): Promise<{ outs: Props }> {
    const target = await this.target({ ...this.observedOf(olds), ...news });
    const patch = metadataPatch(olds, news, this.descriptionKey);
    let object = await this.recordOf(target);
    if (!object) {
      // A one-shot operation never runs again by itself; keep its outcome with the new inputs.
      if (this.kind.oneShot && olds.phase)
        return { outs: { ...publicOf(olds), ...publicOf(news), ...this.observedOf(olds) } };
      // Deleted outside Pulumi (or a failed attempt was cleaned up): declare it again.
      const { outs } = await this.createAndWait(news);
      return { outs };
    }
    if (patch) object = await patchObject(target.cluster, target.ref, patch, cancellation());
    const { outs } = await this.settle(target, news, object);
    return { outs };
  }

  private async deleteAndWait(_id: string, props: Props): Promise<void> {
    const target = await this.target(props);
    let exists = true;
    // Only kinds that decide on the current object read it first; the others go straight to DELETE.
    if (this.kind.beforeDelete || this.kind.oneShot) {
      const current = await this.recordOf(target);
      await this.kind.beforeDelete?.(target.ctx, current, props);
      exists = current !== undefined;
    }
    if (exists) {
      const object = await deleteObject(target.cluster, target.ref, cancellation());
      if (object)
        await this.untilGone(target, object, props.deleteTimeoutSeconds ?? DEFAULT_DELETE_TIMEOUT_SECONDS);
    }
    await this.kind.afterDelete?.(target.ctx, props);
  }

  /**
   * The object as it is now. For a one-shot operation, a cluster that no longer serves its kind (an
   * upgrade removed the old API) holds no record of it either.
   */
  private async recordOf(target: Target): Promise<KubeObject | undefined> {
    try {
      return await getObject(target.cluster, target.ref, cancellation());
    } catch (e) {
      if (this.kind.oneShot && e instanceof ClusterError && e.reason === "KindNotServed") return undefined;
      throw e;
    }
  }

  private async target(props: Props): Promise<Target> {
    const cluster = await connect(clusterSettings(props as Inputs));
    const namespace = props.namespace ?? stackSettings().namespace ?? cluster.namespace;
    const ctx: KindContext = {
      cluster,
      namespace,
      signal: cancellation(),
      say: (line) => this.say({ namespace, name: props.name }, line),
    };
    const variant = this.kind.variant ? await this.kind.variant(ctx, props) : this.kind;
    return { cluster, ctx, variant, ref: { api: variant.api, namespace, name: props.name } };
  }

  private manifest(target: Target, inputs: Props): KubeObject {
    const annotations: Record<string, string> = { ...(inputs.annotations ?? {}) };
    if (inputs.description) annotations[this.descriptionKey] = inputs.description;
    const owner = inputs.ownerId ?? inputs.resourceName;
    if (owner) annotations[OWNER_ANNOTATION] = owner;
    return {
      apiVersion: apiVersionOf(target.variant.api),
      kind: target.variant.api.kind,
      metadata: {
        name: inputs.name,
        namespace: inputs.namespace,
        ...(inputs.labels ? { labels: inputs.labels } : {}),
        annotations,
      },
      spec: target.variant.spec(inputs),
    };
  }

  /** A create answered 409: take the object only if this resource made it earlier, or the user said adopt. */
  private async adopt(target: Target, inputs: Props, manifest: KubeObject): Promise<KubeObject> {
    const existing = await getObject(target.cluster, target.ref, cancellation());
    if (!existing) return createObject(target.cluster, target.ref, manifest, cancellation());
    const owner = inputs.ownerId ?? inputs.resourceName;
    const ours = !!owner && existing.metadata.annotations?.[OWNER_ANNOTATION] === owner;
    const what = describe(target.ref);
    if (!ours && !inputs.adopt) {
      throw new Error(
        `${what} already exists and was not created by this resource. Set "adopt: true" to manage the existing ` +
          `object from this stack, or choose another name (leave "name" unset to get a generated one).`,
      );
    }
    const differing = Object.keys(manifest.spec).filter(
      (k) => !isDeepStrictEqual(existing.spec?.[k], manifest.spec[k]),
    );
    if (differing.length) {
      throw new Error(
        `${what} already exists with a different spec (${differing.map((k) => `spec.${k}`).join(", ")}) and a ` +
          `${target.variant.api.kind} cannot be changed. Delete it or choose another name.`,
      );
    }
    this.say(target.ref, ours ? "already exists from an earlier attempt; continuing with it" : "adopted");
    const patch = {
      metadata: { labels: manifest.metadata.labels ?? null, annotations: manifest.metadata.annotations },
    };
    return patchObject(target.cluster, target.ref, patch, cancellation());
  }

  /**
   * Waits until the object is ready. Failed: delete it and fail with the platform's reason. Any other
   * failure after the object exists (timeout, cancellation, lost access) keeps it in state.
   */
  private async settle(
    target: Target,
    inputs: Props,
    known: KubeObject,
  ): Promise<{ id: string; outs: Props }> {
    const seconds = inputs.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS;
    const cancel = cancellation(); // held: cancelAll() replaces the process-wide signal once it aborted
    const timeout = waitLimit(seconds * 1000, cancel);
    let decided: Reading | undefined; // a deadline passed with no change to the object
    const read = (o: KubeObject) => target.variant.read(o, inputs);
    let last = known;
    let shownStep: string | undefined;
    let recheck: NodeJS.Timeout | undefined;
    let outcome: { object?: KubeObject; reading?: Reading };
    try {
      outcome = await observe(
        { cluster: target.cluster, ...target.ref },
        known,
        (object) => {
          if (!object) return {};
          last = object;
          const reading = read(object);
          // A line when the phase or the controller's reason changes; a message that only counts up does not.
          const step = `${reading.phase}|${reading.reason}`;
          if (step !== (shownStep ?? "|")) {
            shownStep = step;
            this.say(target.ref, progressLine(reading));
          }
          if (reading.verdict.state !== "waiting") return { object, reading };
          clearTimeout(recheck);
          if (reading.recheckInMs !== undefined) {
            recheck = setTimeout(() => {
              const again = read(last);
              if (again.verdict.state === "waiting") return;
              decided = again;
              timeout.end();
            }, reading.recheckInMs);
          }
          return undefined;
        },
        timeout.signal,
      );
    } catch (e) {
      if (decided) {
        outcome = { object: last, reading: decided };
      } else {
        const reading = read(last);
        const reason = timeout.timedOut
          ? `${describe(target.ref)} is still ${reading.phase || "not ready"} after ${seconds}s` +
            `${reading.reason ? ` (${reading.reason}${reading.message ? `: ${reading.message}` : ""})` : ""}; ` +
            `it is kept in the stack and the next "pulumi up" resumes waiting (raise waitTimeoutSeconds to wait longer)`
          : cancel.aborted
            ? `waiting for ${describe(target.ref)} was cancelled; it is kept in the stack and the next "pulumi up" resumes waiting`
            : `waiting for ${describe(target.ref)} failed: ${(e as Error).message}`;
        throw this.kept(target, inputs, last, [reason]);
      }
    } finally {
      clearTimeout(recheck);
      timeout.release();
    }
    if (!outcome.object) {
      throw new Error(
        `${describe(target.ref)} was deleted by someone else before it became ready; run "pulumi up" again to create it anew.`,
      );
    }
    const verdict = outcome.reading!.verdict;
    if (verdict.state === "failed") {
      const failure = `${describe(target.ref)} failed: ${verdict.reason}: ${verdict.message}`;
      try {
        const left = await deleteObject(target.cluster, target.ref, cancellation());
        if (left)
          await this.untilGone(target, left, inputs.deleteTimeoutSeconds ?? DEFAULT_DELETE_TIMEOUT_SECONDS);
      } catch (e) {
        throw this.kept(target, inputs, outcome.object, [
          failure,
          `the failed object could not be deleted (${(e as Error).message}); it is kept in the stack`,
        ]);
      }
      throw new Error(`${failure} (the failed object was deleted; fix the cause and run "pulumi up" again)`);
    }
    return { id: idOf(target.ref), outs: this.outputs(target, inputs, outcome.object) };
  }

  private async untilGone(target: Target, known: KubeObject, seconds: number): Promise<void> {
    const cancel = cancellation(); // held: cancelAll() replaces the process-wide signal once it aborted
    const timeout = waitLimit(seconds * 1000, cancel);
    let last = known;
    let shown = "";
    try {
      await observe(
        { cluster: target.cluster, ...target.ref },
        known,
        (object) => {
          if (!object) return true;
          last = object;
          const line = `deleting (finalizers: ${(object.metadata.finalizers ?? []).join(", ") || "none"})`;
          if (line !== shown) this.say(target.ref, (shown = line));
          return undefined;
        },
        timeout.signal,
      );
      this.say(target.ref, "deleted");
    } catch (e) {
      const finalizers = last.metadata.finalizers ?? [];
      if (timeout.timedOut) {
        throw new Error(
          `${describe(target.ref)} is still being deleted after ${seconds}s` +
            (finalizers.length
              ? `: finalizers ${finalizers.map((f) => `"${f}"`).join(", ")} are still present. The controller that owns them ` +
                `has not finished; check it, or remove them by hand if it is gone`
              : "") +
            ` (raise deleteTimeoutSeconds to wait longer).`,
        );
      }
      if (cancel.aborted) {
        throw new Error(
          `deleting ${describe(target.ref)} was cancelled while finalizers ${finalizers.map((f) => `"${f}"`).join(", ") || "(none)"} were present; it stays in the stack and the next "pulumi destroy" resumes waiting`,
        );
      }
      throw e;
    } finally {
      timeout.release();
    }
  }

  /** Outputs: the inputs as checked, plus what the cluster says; JSON-clean, so no create can orphan. */
  private outputs(target: Target, inputs: Props, object: KubeObject | undefined): Props {
    const reading = object ? target.variant.read(object, inputs) : undefined;
    const observed: Record<string, Json> = {
      uid: object?.metadata.uid ?? null,
      phase: reading?.phase ?? null,
      readyReason: reading?.reason || null,
      readyMessage: reading?.message || null,
      creationTimestamp: object?.metadata.creationTimestamp ?? null,
      ...target.variant.outputs(object, inputs),
    };
    return JSON.parse(JSON.stringify({ ...publicOf(inputs), ...observed }));
  }

  /** A partial failure: the engine keeps the object in state with these outputs (and the provider text). */
  private kept(target: Target, inputs: Props, object: KubeObject | undefined, reasons: string[]) {
    return new PartialFailure(
      idOf(target.ref),
      { ...this.outputs(target, inputs, object), __provider: inputs.__provider },
      reasons,
    );
  }

  private get descriptionKey(): string {
    return this.kind.descriptionAnnotation ?? DEFAULT_DESCRIPTION_ANNOTATION;
  }

  /** What the cluster said last time (outputs that are not inputs): a kept outcome, or what picked a variant. */
  private observedOf(olds: Props): Props {
    return Object.fromEntries(Object.entries(olds).filter(([k]) => !(k in this.shape) && k !== "__provider"));
  }

  private say(ref: Pick<ObjectRef, "namespace" | "name">, what: string) {
    say(`${this.kind.id} ${ref.namespace}/${ref.name}: ${what}`);
  }
}

/** The resource id Pulumi stores: namespace/name. */
const idOf = (ref: ObjectRef) => `${ref.namespace}/${ref.name}`;

/**
 * The inputs that belong in outputs: not the provider text (the host adds it) nor the inputs only Check uses.
 * Outputs travel in every Create answer and Delete request and are stored in the state.
 */
const publicOf = (props: Props): Props => {
  const out: Props = {};
  for (const k in props) if (k !== "__provider" && !INTERNAL_INPUTS.includes(k)) out[k] = props[k];
  return out;
};

function progressLine(r: Reading): string {
  return `${r.phase || "waiting for the controller to pick it up"}${r.reason ? ` (${r.reason}${r.message ? `: ${r.message}` : ""})` : ""}`;
}

/** A JSON merge patch for labels, annotations and description; undefined when nothing changed. */
function metadataPatch(olds: Props, news: Props, descriptionKey: string): object | undefined {
  const diffMap = (before: Record<string, string> = {}, after: Record<string, string> = {}) => {
    const patch: Record<string, string | null> = {};
    for (const k of Object.keys(before)) if (!(k in after)) patch[k] = null;
    for (const [k, v] of Object.entries(after)) if (before[k] !== v) patch[k] = v;
    return Object.keys(patch).length ? patch : undefined;
  };
  const withDescription = (p: Props) => ({
    ...(p.annotations ?? {}),
    ...(p.description ? { [descriptionKey]: p.description } : {}),
  });
  const labels = diffMap(olds.labels, news.labels);
  const annotations = diffMap(withDescription(olds), withDescription(news));
  if (!labels && !annotations) return undefined;
  return { metadata: { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) } };
}
