// The provider object Pulumi serializes into every resource's state. It captures nothing but a kind id:
// each method loads the lifecycle by package name, so in the host process all resources share one
// runtime (one cluster connection and one watch per kind and namespace).
//
// Its text is stored twice per resource and sent with every call the engine makes, and the host's protobuf
// code spends time and memory on every byte of it. Each kind's object is therefore the exports of its own
// module (../providers): from an installed package Pulumi serializes it as a `require` of that module, a
// few hundred bytes. From a linked checkout (npm link, a workspace) it is serialized by value, about 2 KB.
import type * as pulumi from "@pulumi/pulumi";

type Runtime = typeof import("../runtime");
type Method = Parameters<Runtime["run"]>[1];

export function dynamicProvider(kindId: string): pulumi.dynamic.ResourceProvider {
  const run = (method: Method, args: unknown[]) =>
    (require("pulumi-vm-snapshots/runtime") as Runtime).run(kindId, method, args);
  return {
    configure: (...a) => run("configure", a),
    check: (...a) => run("check", a),
    diff: (...a) => run("diff", a),
    create: (...a) => run("create", a),
    read: (...a) => run("read", a),
    update: (...a) => run("update", a),
    delete: (...a) => run("delete", a),
  };
}
