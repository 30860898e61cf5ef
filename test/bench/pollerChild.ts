// The polling peer, in its own process: create every object, GET each one every second until its phase is
// terminal, then (on "delete") delete each one and GET it every second until it is gone.
// KUBECONFIG names the cluster. stdin: the job as one JSON line ({ namespace, api, objects: [{ name, spec }] }),
// then "create" and "delete"; stdout: "started", then "ready <name>", "gone <name>" or "failed <name> <why>".
import * as readline from "node:readline";
import { connect } from "../../provider/kube/cluster";
import {
  apiVersionOf,
  createObject,
  deleteObject,
  getObject,
  type ApiKind,
} from "../../provider/kube/objects";
import { sleep } from "../../provider/kube/request";

interface Job {
  namespace: string;
  api: ApiKind;
  objects: { name: string; spec: Record<string, unknown> }[];
}

const pollMs = 1_000;
const deadlineMs = 120_000;
const terminal = new Set(["Ready", "Failed"]);

async function main() {
  const commands = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const job: Job = JSON.parse((await commands.next()).value);
  const cluster = await connect({});
  const ref = (name: string) => ({ api: job.api, namespace: job.namespace, name });
  const each = (run: (name: string) => Promise<string>) =>
    Promise.all(
      job.objects.map(({ name }) =>
        run(name).then(
          (line) => console.log(line),
          (e: Error) => console.log(`failed ${name} ${e.message.replace(/\n/g, " ")}`),
        ),
      ),
    );
  const poll = async (name: string, done: (o: Awaited<ReturnType<typeof getObject>>) => boolean) => {
    for (const started = Date.now(); Date.now() - started < deadlineMs; await sleep(pollMs)) {
      if (done(await getObject(cluster, ref(name)))) return;
    }
    throw new Error(`still waiting after ${deadlineMs} ms`);
  };
  console.log("started");
  for (let next = await commands.next(); !next.done; next = await commands.next()) {
    const command = next.value;
    if (command === "create") {
      await each(async (name) => {
        const spec = job.objects.find((o) => o.name === name)!.spec;
        const manifest = {
          apiVersion: apiVersionOf(job.api),
          kind: job.api.kind,
          metadata: { name, namespace: job.namespace },
          spec,
        };
        await createObject(cluster, ref(name), manifest);
        await poll(name, (o) => terminal.has(o?.status?.phase));
        return `ready ${name}`;
      });
    } else if (command === "delete") {
      await each(async (name) => {
        await deleteObject(cluster, ref(name));
        await poll(name, (o) => o === undefined);
        return `gone ${name}`;
      });
    }
  }
}

main().catch((e: Error) => {
  console.error(`poller: ${e.stack ?? e.message}`);
  process.exit(1);
});
