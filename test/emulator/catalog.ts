// The kinds an emulator serves right now, looked up the way URLs and discovery need them.
import { type ResourceType } from "./store";

/** Kubernetes version priority: GA before beta before alpha, higher numbers first (v1 > v1beta2 > v1alpha1). */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return [0, 0, 0];
    return [m[2] === "alpha" ? 1 : m[2] === "beta" ? 2 : 3, Number(m[1]), Number(m[3] ?? 0)];
  };
  const [ra, rb] = [rank(a), rank(b)];
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i] - ra[i];
  return a.localeCompare(b);
}

export interface ServedGroup {
  name: string;
  /** Highest priority first, so versions[0] is the preferred version. */
  versions: string[];
}

export class Catalog {
  private readonly byPath = new Map<string, ResourceType>(); // group/version/plural -> type

  constructor(types: ResourceType[] = []) {
    for (const t of types) this.serve(t);
  }

  private static path(group: string, version: string, plural: string) {
    return `${group}/${version}/${plural}`;
  }

  serve(type: ResourceType): void {
    this.byPath.set(Catalog.path(type.group, type.version, type.plural), type);
  }

  unserve(type: ResourceType): void {
    this.byPath.delete(Catalog.path(type.group, type.version, type.plural));
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byPath.get(Catalog.path(group, version, plural));
  }

  /** Kinds of one group version, in the order they were served. */
  kinds(group: string, version: string): ResourceType[] {
    return [...this.byPath.values()].filter((t) => t.group === group && t.version === version);
  }

  /** Named API groups (the core group "" is not one of them). */
  groups(): ServedGroup[] {
    const versions = new Map<string, Set<string>>();
    for (const t of this.byPath.values()) {
      if (!t.group) continue;
      if (!versions.has(t.group)) versions.set(t.group, new Set());
      versions.get(t.group)!.add(t.version);
    }
    return [...versions].map(([name, vs]) => ({ name, versions: [...vs].sort(compareVersions) }));
  }
}
