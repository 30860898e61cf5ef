// VirtualMachineRestore `patches`: JSON-patch operations KubeVirt applies to a VM the restore creates.
// Checked as virt-api's webhook checks them (vmrestore.go), so a rejected patch is reported at preview.
import { z } from "zod";

const ALLOWED_PREFIXES = ["/spec/", "/metadata/labels/", "/metadata/annotations/"];
const OPERATIONS = ["add", "remove", "replace", "move", "copy", "test"];

export interface PatchOperation {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

/** The text KubeVirt stores: the user's own string, or the operation as compact JSON. */
export const patchText = (p: string | PatchOperation) => (typeof p === "string" ? p : JSON.stringify(p));

/** Why KubeVirt would refuse this patch, in a sentence; undefined when it accepts it. */
export function patchProblem(patch: unknown): string | undefined {
  let op: any = patch;
  if (typeof patch === "string") {
    try {
      op = JSON.parse(patch);
    } catch {
      return `${JSON.stringify(patch)} is not JSON; write it as {"op": "replace", "path": "/spec/...", "value": ...}`;
    }
  }
  if (!op || typeof op !== "object" || Array.isArray(op)) {
    return 'each patch must be one JSON-patch operation such as {"op": "replace", "path": "/spec/...", "value": ...}';
  }
  if (!OPERATIONS.includes(op.op)) {
    return `"op" must be one of ${OPERATIONS.join(", ")}; got ${JSON.stringify(op.op)}`;
  }
  if (typeof op.path !== "string") return 'the patch needs a "path" string';
  if (!ALLOWED_PREFIXES.some((p) => op.path.startsWith(p))) {
    return (
      `path ${JSON.stringify(op.path)} is not allowed: KubeVirt only patches paths under ${ALLOWED_PREFIXES.join(", ")} ` +
      "(the new VM's name is targetName)"
    );
  }
  // virt-api splits the text on "," and then ":" and wants exactly one ":" per piece.
  const text = patchText(patch as string | PatchOperation);
  const pieces = text.replace(/^[{}]+|[{}]+$/g, "").split(",");
  if (pieces.some((piece) => piece.split(":").length !== 2)) {
    return (
      "KubeVirt's webhook reads a patch as flat \"key\": value pairs, so a value must not contain ',' or ':' " +
      `and must not be an object or a list; got ${text}`
    );
  }
  return undefined;
}

export const patchList = z
  .array(z.unknown(), { error: "patches must be a list of JSON-patch operations" })
  .superRefine((list, ctx) =>
    list.forEach((patch, i) => {
      const problem = patchProblem(patch);
      if (problem) ctx.addIssue({ code: "custom", message: problem, path: [i] });
    }),
  );
