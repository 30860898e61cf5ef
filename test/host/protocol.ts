// The engine's side of the ResourceProvider gRPC protocol: the generated messages of the project's own
// @pulumi/pulumi, property bags as google.protobuf.Struct, and errors decoded the way the engine does.
import * as path from "node:path";
import type * as grpcJs from "@grpc/grpc-js";
import type * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import type * as providerGrpcPb from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as pluginPb from "@pulumi/pulumi/proto/plugin_pb";
import type * as statusPb from "@pulumi/pulumi/proto/status_pb";
import type * as structPb from "google-protobuf/google/protobuf/struct_pb";
import type * as emptyPb from "google-protobuf/google/protobuf/empty_pb";

export type Properties = Record<string, any>;

/** The generated modules, loaded from the @pulumi/pulumi that the project at `cwd` resolves. */
export interface Protocol {
  pulumiDir: string;
  grpc: typeof grpcJs;
  provider: typeof providerPb;
  services: typeof providerGrpcPb;
  plugin: typeof pluginPb;
  status: typeof statusPb;
  struct: typeof structPb;
  empty: typeof emptyPb;
}

export function loadProtocol(cwd: string): Protocol {
  let pulumiDir: string;
  try {
    pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [cwd] }));
  } catch {
    throw new Error(
      `the Pulumi project ${cwd} has no @pulumi/pulumi in its node_modules: nothing to start the host from`,
    );
  }
  const fromPulumi = (id: string) => require(require.resolve(id, { paths: [pulumiDir] }));
  return {
    pulumiDir,
    grpc: fromPulumi("@grpc/grpc-js"),
    provider: fromPulumi("./proto/provider_pb"),
    services: fromPulumi("./proto/provider_grpc_pb"),
    plugin: fromPulumi("./proto/plugin_pb"),
    status: fromPulumi("./proto/status_pb"),
    struct: fromPulumi("google-protobuf/google/protobuf/struct_pb"),
    empty: fromPulumi("google-protobuf/google/protobuf/empty_pb"),
  };
}

/**
 * A create or update that made the object but could not finish it: the engine keeps the resource with this
 * id, outputs = `properties` and init errors = `reasons`, and the next `up` updates it.
 */
export class PartialFailure extends Error {
  constructor(
    readonly method: string,
    readonly urn: string,
    /** The provider's own message; the engine shows `reasons` instead. */
    readonly details: string,
    readonly id: string,
    readonly properties: Properties,
    readonly reasons: string[],
  ) {
    super(`${method} ${urn}: partial failure of ${id}: ${reasons.join("; ") || details}`);
    this.name = "PartialFailure";
  }
}

/** Any other failed RPC, with its gRPC status code (UNKNOWN for whatever the provider threw). */
export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly urn: string,
    readonly code: number,
    readonly codeName: string,
    readonly details: string,
  ) {
    super(`${method} ${urn || "(provider)"}: ${codeName}: ${details}`);
    this.name = "RpcError";
  }
}

const initFailedType = "pulumirpc.ErrorResourceInitFailed";

/** Turns a gRPC error into what the engine would make of it. */
export function decodeError(
  protocol: Protocol,
  method: string,
  urn: string,
  err: grpcJs.ServiceError,
): Error {
  const details = err.details ?? err.message;
  for (const bin of err.metadata?.get("grpc-status-details-bin") ?? []) {
    const status = protocol.status.Status.deserializeBinary(bin as Buffer);
    for (const any of status.getDetailsList()) {
      if (any.getTypeName() !== initFailedType) continue;
      const failed = any.unpack(protocol.provider.ErrorResourceInitFailed.deserializeBinary, initFailedType)!;
      const properties = failed.getProperties()?.toJavaScript() ?? {};
      return new PartialFailure(method, urn, details, failed.getId(), properties, failed.getReasonsList());
    }
  }
  const codeName = protocol.grpc.status[err.code] ?? String(err.code);
  return new RpcError(method, urn, err.code, codeName, details);
}
