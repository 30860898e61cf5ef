// Child process of captureResources: runs one Pulumi program under pulumi.runtime.setMocks and sends back
// every resource it registered. Mocks are global state, so they live here and not in the test process.
// argv: <program file> <project> <stack>
import * as path from "node:path";

interface Captured {
  type: string;
  name: string;
  inputs: Record<string, any>;
  additionalSecretOutputs: string[];
}

const [programFile, project, stack] = process.argv.slice(2);

function report(message: { resources: Captured[] } | { error: string }, exitCode: number): void {
  process.send!(message, () => process.exit(exitCode));
}

// A provider that cannot be serialized surfaces only as an unhandled rejection of its registration.
const errors: unknown[] = [];
const fail = (e: any) => report({ error: e?.stack ?? String(e) }, 1);
process.on("unhandledRejection", (e) => errors.push(e));
process.on("uncaughtException", fail);

async function main(): Promise<void> {
  const pulumiPath = require.resolve("@pulumi/pulumi", { paths: [path.dirname(programFile)] });
  const pulumi: typeof import("@pulumi/pulumi") = require(pulumiPath);
  const resources: Captured[] = [];
  const secretOutputs = new Map<string, string[]>();
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => {
        const additionalSecretOutputs = secretOutputs.get(`${type}::${name}`) ?? [];
        resources.push({ type, name, inputs, additionalSecretOutputs });
        return { id: `${name}-id`, state: inputs };
      },
      call: ({ inputs }) => inputs,
    },
    project,
    stack,
    false,
  );
  // The mocks see no resource options; the registration request carries the one that decides encryption.
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    secretOutputs.set(`${req.getType()}::${req.getName()}`, req.getAdditionalsecretoutputsList());
    return register(req, callback);
  };
  const program = require(programFile);
  const run = typeof program === "function" ? program : program?.default;
  if (typeof run === "function") await run(); // Pulumi runs a program that exports a function
  await pulumi.runtime.disconnect(); // waits until every registration (and its serialization) has finished
  await new Promise((resolve) => setImmediate(resolve)); // lets Node report the rejections of the last tick
  if (errors.length > 0) fail(errors[0]);
  else report({ resources }, 0);
}

main().catch(fail);
