// Runs an emulator until SIGINT/SIGTERM:  npx tsx test/emulator/cli.ts --port 0 [--no-tls] [--profile NAME]
// The first stdout line is KUBECONFIG=<path>, so a script or a human can point kubectl at it.
import { parseArgs } from "node:util";
import { startEmulator } from "./index";
import { profile, profileNames, type ProfileName } from "./kinds/profiles";

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      "no-tls": { type: "boolean", default: false },
      profile: { type: "string", default: profileNames[0] },
      token: { type: "string" },
      namespace: { type: "string" },
    },
  });
  const name = values.profile as ProfileName;
  if (!profileNames.includes(name)) {
    throw new Error(`--profile "${values.profile}" is unknown; profiles: ${profileNames.join(", ")}`);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port "${values.port}" is not a port number (0 picks a free one)`);
  }
  const emulator = await startEmulator({
    types: [],
    port,
    tls: !values["no-tls"],
    token: values.token,
    namespace: values.namespace,
  });
  // Served after start, so admission rules that look at other objects see this emulator's store.
  const kinds = profile(name, emulator.store);
  kinds.forEach((kind) => emulator.serve(kind));
  console.log(`KUBECONFIG=${emulator.kubeconfigPath}`);
  console.log(`serving ${kinds.length} kinds (profile ${name}) at ${emulator.url}`);
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    void emulator.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((e: Error) => {
  console.error(`emulator: ${e.message}`);
  process.exit(1);
});
