// A stack's state as the engine keeps it across runs: what `up` recorded for each resource (partial failures
// included), replaced resources still to delete, and what `destroy` removed. Scenarios compare it with the cluster.
import assert from "node:assert/strict";
import { UpFailed, type Engine, type ResourceState } from "../host/engine";
import type { Properties } from "../host/driver";
import { typeOf } from "./inProcessHost";

export class FaultStack {
  /** Resources in the state, by URN, in the order they were first created. */
  readonly resources = new Map<string, ResourceState>();
  /** Replaced resources the engine still has to delete (a create-before-delete that stopped half way). */
  readonly pendingDeletes: ResourceState[] = [];
  /** The namespaces this stack's resources were declared in: where its objects can be. */
  readonly namespaces = new Set<string>();

  /**
   * `defaults` are inputs every resource gets (kubeconfig, namespace); `providerText` is the `__provider`
   * each type sends (any text in this process; the serialized provider for the real host).
   */
  constructor(
    /** The engine of the next run; a scenario swaps it when the host process ended (a new `pulumi up`). */
    public engine: Engine,
    private readonly defaults: Properties,
    private readonly providerText: (type: string) => string = () => "in-process provider",
  ) {}

  urn(kindId: string, name: string): string {
    return this.engine.urn(typeOf(kindId), name);
  }

  state(kindId: string, name: string): ResourceState | undefined {
    return this.resources.get(this.urn(kindId, name));
  }

  /** The inputs a program would send for `new Kind(name, args)` (an undefined input is not sent). */
  news(kindId: string, name: string, args: Properties): Properties {
    const news: Properties = Object.fromEntries(
      Object.entries({ resourceName: name, ...this.defaults, ...args }).filter(([, v]) => v !== undefined),
    );
    news.__provider = this.providerText(typeOf(kindId));
    if (typeof news.namespace === "string") this.namespaces.add(news.namespace);
    return news;
  }

  /**
   * `pulumi up` of one resource (after the replaced resources an earlier run left to delete); on failure the
   * state keeps what the engine keeps, and the error is thrown.
   */
  async up(kindId: string, name: string, args: Properties): Promise<ResourceState> {
    const urn = this.urn(kindId, name);
    await this.deletePending();
    try {
      const state = await this.engine.up(this.resources.get(urn), urn, this.news(kindId, name, args));
      this.resources.set(urn, state);
      return state;
    } catch (e) {
      if (e instanceof UpFailed) {
        if (e.state) this.resources.set(urn, e.state);
        else this.resources.delete(urn);
        if (e.pendingDelete) this.pendingDeletes.push(e.pendingDelete);
      }
      throw e;
    }
  }

  /** `pulumi up` that must fail; resolves with the failure (the state already updated). */
  async upFails(kindId: string, name: string, args: Properties): Promise<UpFailed> {
    const error = await this.up(kindId, name, args).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(
      error instanceof UpFailed,
      `up of ${name} should have failed, but ${error === undefined ? "it succeeded" : `threw ${String(error)}`}`,
    );
    return error;
  }

  /** `pulumi refresh` of one resource: the object's state now, or nothing when the provider says it is gone. */
  async refresh(kindId: string, name: string): Promise<ResourceState | undefined> {
    const urn = this.urn(kindId, name);
    const old = this.resources.get(urn);
    assert.ok(old, `${name} is not in the state`);
    const state = await this.engine.refresh(old);
    if (state) this.resources.set(urn, state);
    else this.resources.delete(urn);
    return state;
  }

  /** Deletes one resource; a failed delete keeps it in the state, as the engine does. */
  async destroy(kindId: string, name: string): Promise<void> {
    const urn = this.urn(kindId, name);
    const state = this.resources.get(urn);
    assert.ok(state, `${name} is not in the state`);
    await this.engine.destroy(state);
    this.resources.delete(urn);
  }

  /** `pulumi destroy`: pending deletes first, then every resource, the newest first. */
  async destroyAll(): Promise<void> {
    await this.deletePending();
    for (const state of [...this.resources.values()].reverse()) {
      await this.engine.destroy(state);
      this.resources.delete(state.urn);
    }
  }

  private async deletePending(): Promise<void> {
    while (this.pendingDeletes.length) {
      await this.engine.destroy(this.pendingDeletes[0]);
      this.pendingDeletes.shift();
    }
  }

  /** Every resource the state holds, pending deletes included. */
  all(): ResourceState[] {
    return [...this.resources.values(), ...this.pendingDeletes];
  }
}
