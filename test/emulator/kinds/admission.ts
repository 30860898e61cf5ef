// What the apiserver does with a kind on CREATE/UPDATE: prune and default by its schema, validate by it
// (422 Invalid), then call the platform's validating webhooks, in registration order.
import type { AdmissionRejection, KubeObject, ResourceType, StatusCause } from "../store";
import { invalidObject } from "./field-errors";
import { applyDefaults, prune, validate, type Schema } from "./schema";

export type Operation = "CREATE" | "UPDATE";

/** A validating webhook: a rejection, or undefined to admit. */
export type Webhook = (
  obj: KubeObject,
  old: KubeObject | undefined,
  op: Operation,
) => AdmissionRejection | undefined;

/** The `default` and `admit` of a kind from its schema and webhooks. */
export function admission(
  target: { kind: string; group: string },
  schema: Schema,
  webhooks: readonly Webhook[] = [],
): Required<Pick<ResourceType, "default" | "admit">> {
  return {
    default(obj) {
      prune(obj, schema);
      applyDefaults(obj, schema);
    },
    admit(obj, old, op) {
      const errors = validate(obj, schema, old);
      if (errors.length) return invalidObject(target, obj.metadata.name ?? "", errors);
      for (const webhook of webhooks) {
        const rejected = webhook(obj, old, op);
        if (rejected) return rejected;
      }
      return undefined;
    },
  };
}

/**
 * A webhook's denial as the apiserver relays it: its message prefixed with
 * `admission webhook "<name>" denied the request: `, its code and reason kept.
 */
export function deniedBy(
  webhook: string,
  status: { code: number; reason: string; message: string; causes?: StatusCause[] },
): AdmissionRejection {
  return {
    code: status.code,
    reason: status.reason,
    message: `admission webhook "${webhook}" denied the request: ${status.message}`,
    ...(status.causes ? { causes: status.causes } : {}),
  };
}
