// A Pulumi project's name, which the host and the mocks need to resolve short config keys and build URNs.
import * as fs from "node:fs";
import * as path from "node:path";

/** `name` from `<dir>/Pulumi.yaml`, or the directory's name when there is none. */
export function projectName(dir: string): string {
  const file = path.join(dir, "Pulumi.yaml");
  const name = fs.existsSync(file) ? /^name:\s*(\S+)/m.exec(fs.readFileSync(file, "utf8"))?.[1] : undefined;
  return name ?? path.basename(dir);
}
