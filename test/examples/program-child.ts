// Child process of runProgram: runs one Pulumi program under pulumi.runtime.setMocks, where the parent answers
// every resource registration with the resource's real outputs, so values flow between resources as in `pulumi up`.
// argv: <program file> <project> <stack>
import * as path from "node:path";

export type ChildMessage =
  | { kind: "register"; seq: number; type: string; name: string; inputs: Record<string, any> }
  | { kind: "done"; error?: string };

export interface Answer {
  seq: number;
  id?: string;
  outputs?: Record<string, any>;
  error?: string;
}

const [programFile, project, stack] = process.argv.slice(2);

const waiting = new Map<number, (answer: Answer) => void>();
const refused: string[] = []; // errors the parent answered with: it reports those itself
const programErrors: unknown[] = [];
let lastSeq = 0;
process.on("message", (answer: Answer) => {
  waiting.get(answer.seq)?.(answer);
  waiting.delete(answer.seq);
});

function register(type: string, name: string, inputs: Record<string, any>) {
  return new Promise<{ id: string; state: Record<string, any> }>((resolve, reject) => {
    const seq = ++lastSeq;
    waiting.set(seq, (a) => {
      if (a.error === undefined) return resolve({ id: a.id!, state: a.outputs ?? {} });
      refused.push(a.error);
      reject(new Error(a.error));
    });
    process.send!({ kind: "register", seq, type, name, inputs } satisfies ChildMessage);
  });
}

function finish(error?: unknown): void {
  const message: ChildMessage = {
    kind: "done",
    ...(error ? { error: String((error as any)?.stack ?? error) } : {}),
  };
  process.send!(message, () => process.exit(error ? 1 : 0));
}

// A refused registration rejects its resource's outputs (and its dependents'); anything else is the program's
// own failure, such as a provider that cannot be serialized.
process.on("unhandledRejection", (e: any) => {
  if (!refused.some((message) => String(e?.message ?? e).includes(message))) programErrors.push(e);
});
process.on("uncaughtException", finish);

async function main(): Promise<void> {
  const pulumi: typeof import("@pulumi/pulumi") = require(
    require.resolve("@pulumi/pulumi", { paths: [path.dirname(programFile)] }),
  );
  await pulumi.runtime.setMocks(
    {
      newResource: ({ type, name, inputs }) => register(type, name, inputs),
      call: ({ token }) => {
        throw new Error(`this runner does not answer the function call ${token}`);
      },
    },
    project,
    stack,
    false,
  );
  const program = require(programFile);
  const run = typeof program === "function" ? program : program?.default;
  if (typeof run === "function") await run();
  await pulumi.runtime.disconnect(); // waits until every registration has been answered
  await new Promise((resolve) => setImmediate(resolve)); // lets Node report the rejections of the last tick
  if (programErrors.length) throw programErrors[0];
}

main().then(() => finish(), finish);
