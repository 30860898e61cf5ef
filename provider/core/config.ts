// Stack-wide settings from `pulumi config` (namespace `pulumi-vm-snapshots:`), set once per host process
// by `configure`. Inputs on a resource always win over these.
import type { ClusterSettings } from "../kube/cluster";

export const CONFIG_NAMESPACE = "pulumi-vm-snapshots";

export interface StackSettings extends ClusterSettings {
  namespace?: string;
}

let stack: StackSettings = {};

export function setStackSettings(config: { get(key: string): string | undefined }): void {
  const read = (key: string) => {
    const v = config.get(`${CONFIG_NAMESPACE}:${key}`);
    return typeof v === "string" && v !== "" ? v : undefined;
  };
  stack = { kubeconfig: read("kubeconfig"), context: read("context"), namespace: read("namespace") };
}

export function stackSettings(): StackSettings {
  return stack;
}

/**
 * The cluster settings for one resource: its own inputs first, then the stack's. The stack's context
 * belongs to the stack's (or the default) kubeconfig, never to a kubeconfig the resource brings.
 */
export function clusterSettings(inputs: { kubeconfig?: string; context?: string }): ClusterSettings {
  if (inputs.kubeconfig !== undefined) return { kubeconfig: inputs.kubeconfig, context: inputs.context };
  return { kubeconfig: stack.kubeconfig, context: inputs.context ?? stack.context };
}
