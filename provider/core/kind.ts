// What a custom resource kind tells the generic lifecycle: its API, inputs, spec and how to read its state.
// Adding a kind is writing one of these, mostly data, plus a pure classifier.
import type { z } from "zod";
import type { CheckFailure } from "./inputs";
import type { Cluster } from "../kube/cluster";
import type { ApiKind, KubeObject } from "../kube/objects";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Where an object stands, judged from the object alone. */
export type Verdict =
  { state: "ready" } | { state: "failed"; reason: string; message: string } | { state: "waiting" };

export interface Reading {
  verdict: Verdict;
  /** The platform's own phase word (Deckhouse `status.phase`, KubeVirt's phase or a derived word). */
  phase: string;
  /** The deciding condition's reason and message, for progress lines and outputs. */
  reason: string;
  message: string;
  /** Read the object again after this long even if it does not change (a deadline only time can pass). */
  recheckInMs?: number;
}

/** What a hook may use: the cluster, the object's namespace, the wait's signal and the progress printer. */
export interface KindContext {
  cluster: Cluster;
  namespace: string;
  signal: AbortSignal;
  say(line: string): void;
}

/** The parts of a kind that can depend on the cluster (an API that changed between platform releases). */
export interface KindVariant<Inputs extends Record<string, any> = Record<string, any>> {
  api: ApiKind;
  /** The spec sent to the cluster, from checked inputs. */
  spec(inputs: Inputs): Record<string, Json>;
  /** Pure: what the object's status says. Must treat a status older than the spec as waiting. */
  read(object: KubeObject, inputs: Inputs): Reading;
  /** The kind's own outputs from the observed object, JSON-clean (null, never undefined). */
  outputs(object: KubeObject | undefined, inputs: Inputs): Record<string, Json>;
}

export interface KindDescription<
  Inputs extends Record<string, any> = Record<string, any>,
> extends KindVariant<Inputs> {
  /** "deckhouse:VirtualDiskSnapshot": the registry key and the prefix of progress lines. */
  id: string;
  /** The kind's own inputs; every change of one of them replaces the object (specs are immutable). */
  inputs: z.ZodRawShape;
  /** Kind inputs that steer the provider rather than the object: a change updates state, never replaces. */
  updatableInputs?: string[];
  /** Rules across inputs, after each input passed alone; not called while any input is still unknown. */
  check?(inputs: Inputs): CheckFailure[];
  /** The annotation that holds `description` (KubeVirt's console reads "description"). */
  descriptionAnnotation?: string;
  /**
   * Picks the variant for this cluster (called with the checked inputs before create, and with the
   * stored outputs afterwards, which must carry whatever decided the choice). Default: the kind itself.
   */
  variant?(ctx: KindContext, props: Inputs): Promise<KindVariant<Inputs>>;
  /** Runs before the object is created, e.g. to wait until what it needs exists. */
  prepare?(ctx: KindContext, inputs: Inputs): Promise<void>;
  /**
   * A one-shot operation (a restore): once finished, its record may be garbage-collected by the platform;
   * a 404 then keeps the recorded outcome instead of meaning "gone", and nothing runs it again.
   */
  oneShot?: boolean;
  /** Throws to refuse a delete (e.g. a restore still in progress). */
  beforeDelete?(ctx: KindContext, object: KubeObject | undefined, props: Inputs): void | Promise<void>;
  /** Runs after the object is gone, e.g. to remove what a restore created. */
  afterDelete?(ctx: KindContext, props: Inputs): Promise<void>;
}
