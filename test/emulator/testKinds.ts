// Kinds the emulator's own tests serve: small, with admission the tests control, in a group of their own.
import type { ResourceType } from "./store";

const group = "toys.emulator.test";

/** A namespaced kind with a status subresource; admission requires a numeric spec.size. */
export const Widget: ResourceType = {
  group,
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  singular: "widget",
  shortNames: ["wd"],
  categories: ["toys"],
  namespaced: true,
  statusSubresource: true,
  admit(obj) {
    if (typeof obj.spec?.size === "number") return undefined;
    return {
      message: `Widget.${group} "${obj.metadata.name}" is invalid: spec.size: Required value`,
      causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.size" }],
    };
  },
};

/** An older version of Widget sharing its storage (conversion: None). */
export const WidgetV1beta1: ResourceType = { ...Widget, version: "v1beta1" };

/** A kind without a status subresource, used as a dependent of Widgets. */
export const Gadget: ResourceType = {
  group,
  version: "v1",
  kind: "Gadget",
  plural: "gadgets",
  namespaced: true,
  statusSubresource: false,
};

export const widget = (name: string, extra: Record<string, any> = {}) => ({
  apiVersion: `${group}/v1`,
  kind: "Widget",
  metadata: { name, namespace: "default", ...extra.metadata },
  spec: { size: 1, ...extra.spec },
});
