// The provider object Pulumi serializes into every resource's state. It captures nothing but a kind id:
// each method loads the lifecycle by package name, so in the host process all resources share one
// runtime (one cluster connection and one watch per kind and namespace) and the serialized text stays small.
import type * as pulumi from "@pulumi/pulumi";

type Runtime = typeof import("../runtime");

export function dynamicProvider(kindId: string): pulumi.dynamic.ResourceProvider {
  return {
    async configure(req) {
      (require("pulumi-vm-snapshots/runtime") as Runtime).configure(req.config);
    },
    check: (olds, news) =>
      (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).check(olds, news),
    diff: (id, olds, news) =>
      (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).diff(id, olds, news),
    create: (inputs) => (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).create(inputs),
    read: (id, props) =>
      (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).read(id, props ?? {}),
    update: (id, olds, news) =>
      (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).update(id, olds, news),
    delete: (id, props) =>
      (require("pulumi-vm-snapshots/runtime") as Runtime).lifecycle(kindId).delete(id, props),
  };
}
