// What a request path addresses, before anyone checks that it is served.

export type Route =
  | { kind: "version" | "health" | "openapiIndex" | "openapiV2" | "coreVersions" | "groupList" }
  | { kind: "openapiGroupVersion"; group: string; version: string }
  | { kind: "group"; group: string }
  | { kind: "resourceList"; group: string; version: string }
  | ResourceRoute;

export interface ResourceRoute {
  kind: "resource";
  group: string;
  version: string;
  plural: string;
  /** Set when the path is under /namespaces/{namespace}/. */
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated /watch/ path prefix asks for a watch as ?watch=1 does. */
  watchPrefix: boolean;
}

function resourceRoute(group: string, version: string, rest: string[]): ResourceRoute | undefined {
  const watchPrefix = rest[0] === "watch";
  if (watchPrefix) rest = rest.slice(1);
  // /namespaces/{ns}/{plural}/... is namespaced; /namespaces and /namespaces/{name} are the Namespace kind.
  const namespace = rest[0] === "namespaces" && rest.length >= 3 ? rest[1] : undefined;
  if (namespace !== undefined) rest = rest.slice(2);
  const [plural, name, subresource, ...extra] = rest;
  if (!plural || extra.length) return undefined;
  return { kind: "resource", group, version, plural, namespace, name, subresource, watchPrefix };
}

export function parseRoute(pathname: string): Route | undefined {
  const parts = pathname
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  switch (parts[0]) {
    case "version":
      return parts.length === 1 ? { kind: "version" } : undefined;
    case "healthz":
    case "livez":
    case "readyz":
      return { kind: "health" };
    case "openapi":
      if (parts[1] === "v2" && parts.length === 2) return { kind: "openapiV2" };
      if (parts[1] !== "v3") return undefined;
      if (parts.length === 2) return { kind: "openapiIndex" };
      if (parts[2] === "api" && parts.length === 4)
        return { kind: "openapiGroupVersion", group: "", version: parts[3] };
      if (parts[2] === "apis" && parts.length === 5) {
        return { kind: "openapiGroupVersion", group: parts[3], version: parts[4] };
      }
      return undefined;
    case "api":
      if (parts.length === 1) return { kind: "coreVersions" };
      if (parts.length === 2) return { kind: "resourceList", group: "", version: parts[1] };
      return resourceRoute("", parts[1], parts.slice(2));
    case "apis":
      if (parts.length === 1) return { kind: "groupList" };
      if (parts.length === 2) return { kind: "group", group: parts[1] };
      if (parts.length === 3) return { kind: "resourceList", group: parts[1], version: parts[2] };
      return resourceRoute(parts[1], parts[2], parts.slice(3));
    default:
      return undefined;
  }
}
