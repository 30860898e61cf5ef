// Pulumi URNs: urn:pulumi:<stack>::<project>::<qualified type>::<name>.

export interface UrnParts {
  stack: string;
  project: string;
  /** The resource's own type token (the last `$`-separated segment of the qualified type). */
  type: string;
  name: string;
}

export function makeUrn({ stack, project, type, name }: UrnParts): string {
  return `urn:pulumi:${stack}::${project}::${type}::${name}`;
}

export function parseUrn(urn: string): UrnParts {
  const parts = urn.split("::");
  if (parts.length < 4 || !parts[0].startsWith("urn:pulumi:")) {
    throw new Error(`"${urn}" is not a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)`);
  }
  const [head, project, qualifiedType, ...name] = parts;
  const type = qualifiedType.split("$").pop()!;
  return { stack: head.slice("urn:pulumi:".length), project, type, name: name.join("::") };
}
