// What every Resource class shares: the inputs' Pulumi types and how props and options are assembled.
// Subpaths, not the package index: the index also loads the Automation API, which costs the
// dynamic-provider host (which loads this file through the runtime) most of a second of CPU.
import type * as pulumi from "@pulumi/pulumi";
import { Resource as DynamicResource } from "@pulumi/pulumi/dynamic";
import { getProject, getStack } from "@pulumi/pulumi/metadata";
import { secret } from "@pulumi/pulumi/output";
import { mergeOptions } from "@pulumi/pulumi/resource";

/** Inputs every snapshot and restore resource accepts. */
export interface SharedArgs {
  /** Object name; default `<pulumi name>-<random suffix>`, kept stable across updates. */
  name?: pulumi.Input<string>;
  /** Default: stack config `pulumi-vm-snapshots:namespace`, else the kubeconfig context's namespace, else "default". */
  namespace?: pulumi.Input<string>;
  labels?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  annotations?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** Stored as the `description` annotation. */
  description?: pulumi.Input<string>;
  /** Kubeconfig text (kept secret). Default: stack config, then KUBECONFIG, ~/.kube/config or in-cluster. */
  kubeconfig?: pulumi.Input<string>;
  /** Kubeconfig context to use. */
  context?: pulumi.Input<string>;
  /** How long create waits for a terminal phase (default 600). */
  waitTimeoutSeconds?: pulumi.Input<number>;
  /** How long delete waits until the object is gone (default 300). */
  deleteTimeoutSeconds?: pulumi.Input<number>;
  /** Any values; when they change, a new object replaces this one (e.g. the version about to be deployed). */
  triggers?: pulumi.Input<any>;
  /** Take over an existing object of the same name that this stack did not create. */
  adopt?: pulumi.Input<boolean>;
}

/** Outputs every resource has. */
export const SHARED_OUTPUTS = [
  "name",
  "namespace",
  "uid",
  "phase",
  "readyReason",
  "readyMessage",
  "creationTimestamp",
];

export function resourceProps(name: string, args: object, outputs: string[]): Record<string, unknown> {
  const props: Record<string, unknown> = {
    ...args,
    resourceName: name,
    ownerId: `${getProject()}/${getStack()}/${name}`,
  };
  for (const o of [...SHARED_OUTPUTS, ...outputs]) if (!(o in props)) props[o] = undefined;
  const kubeconfig = (args as SharedArgs).kubeconfig;
  if (kubeconfig !== undefined) props.kubeconfig = secret(kubeconfig);
  return props;
}

export function resourceOptions(
  opts: pulumi.CustomResourceOptions | undefined,
): pulumi.CustomResourceOptions {
  return mergeOptions(opts, { additionalSecretOutputs: ["kubeconfig"] });
}

/** The type token module of each platform's resources. */
export const MODULE = { deckhouse: "vm-snapshots/deckhouse", kubevirt: "vm-snapshots/kubevirt" } as const;

/** A kind's provider object: the exports of its module in ../providers (see ./dynamic.ts). */
function providerOf(kindId: string): pulumi.dynamic.ResourceProvider {
  return require(`../providers/${kindId.replace(":", ".")}`);
}

/** The outputs every resource has; each kind's class declares its own beside them. */
export abstract class PlatformResource extends DynamicResource {
  /** The object's name in the cluster. */
  declare readonly name: pulumi.Output<string>;
  declare readonly namespace: pulumi.Output<string>;
  declare readonly uid: pulumi.Output<string>;
  /** The platform's own phase word. */
  declare readonly phase: pulumi.Output<string>;
  /** The deciding condition's reason and message. */
  declare readonly readyReason: pulumi.Output<string | null>;
  declare readonly readyMessage: pulumi.Output<string | null>;
  declare readonly creationTimestamp: pulumi.Output<string>;

  /** `kindId` is "<platform>:<Kind>", which is also the type token's module and type. */
  protected constructor(
    kindId: string,
    outputs: string[],
    name: string,
    args: object,
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    const [platform, type] = kindId.split(":") as [keyof typeof MODULE, string];
    super(
      providerOf(kindId),
      name,
      resourceProps(name, args, outputs),
      resourceOptions(opts),
      MODULE[platform],
      type,
    );
  }
}
