// What the fault project's Resource classes register in a given stack: their inputs and the serialized provider
// each sends as `__provider`, captured once per stack under mocks (a child process, as `pulumi up` runs a program).
import * as path from "node:path";
import { captureResources, type CapturedResource } from "../host/capture";
import { kindIdOf } from "./inProcessHost";

export const projectDir = path.join(__dirname, "project");

const captured = new Map<string, Promise<CapturedResource[]>>();

function resourcesOf(stack: string): Promise<CapturedResource[]> {
  let resources = captured.get(stack);
  if (!resources) {
    resources = captureResources("index.ts", { cwd: projectDir, development: true, stack });
    captured.set(stack, resources);
  }
  return resources;
}

/** A kind's declaration in `stack`: the inputs its class registers (without `__provider`) and that provider text. */
export async function declared(
  stack: string,
  kindId: string,
): Promise<{ inputs: Record<string, any>; providerText: string }> {
  const resource = (await resourcesOf(stack)).find((r) => kindIdOf(r.type) === kindId);
  if (!resource) throw new Error(`the fault project declares no ${kindId}`);
  const { __provider, ...inputs } = resource.inputs;
  return { inputs, providerText: __provider };
}

/** `__provider` by resource type, for a FaultStack on the real host. */
export async function providerTexts(stack: string): Promise<(type: string) => string> {
  const byType = new Map((await resourcesOf(stack)).map((r) => [r.type, r.inputs.__provider as string]));
  return (type) => {
    const text = byType.get(type);
    if (!text) throw new Error(`the fault project declares no ${type}`);
    return text;
  };
}
