// A dynamic provider that does nothing: what the host costs per resource before any provider work.
import * as pulumi from "@pulumi/pulumi";

const nothing: pulumi.dynamic.ResourceProvider = {
  async check(_olds, news) {
    return { inputs: news };
  },
  async create(inputs) {
    return { id: String(inputs.resourceName), outs: {} };
  },
  async delete() {},
};

export class Nothing extends pulumi.dynamic.Resource {
  constructor(name: string) {
    super(nothing, name, { resourceName: name }, undefined, "bench", "Nothing");
  }
}
