// Runs an emulator until SIGINT/SIGTERM:
//   npx tsx test/emulator/cli.ts --port 0 [--no-tls] [--profile NAME] [--controllers [--phase-delay-ms N]]
// The first stdout line is KUBECONFIG=<path>, so a script or a human can point kubectl at it. With
// --controllers the profile's platform runs too (its simulated controllers), a cluster to run the
// integration suites against as against a real one.
import { parseArgs } from "node:util";
import { startSimulatedPlatform, type SimulatedPlatform } from "../fixtures/cluster";
import { startEmulator, type EmulatorOptions } from "./index";
import { profile, profileNames, type ProfileName } from "./kinds/profiles";

const platforms: readonly ProfileName[] = ["deckhouse-v1.8", "deckhouse-v1.10", "kubevirt"];

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      "no-tls": { type: "boolean", default: false },
      profile: { type: "string", default: profileNames[0] },
      token: { type: "string" },
      namespace: { type: "string" },
      controllers: { type: "boolean", default: false },
      "phase-delay-ms": { type: "string", default: "0" },
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
  const phaseDelayMs = Number(values["phase-delay-ms"]);
  if (!Number.isFinite(phaseDelayMs) || phaseDelayMs < 0) {
    throw new Error(`--phase-delay-ms "${values["phase-delay-ms"]}" is not a number of milliseconds`);
  }
  if (values.controllers && !platforms.includes(name)) {
    throw new Error(`--controllers needs a platform's profile: ${platforms.join(", ")}`);
  }
  const listen = { port, tls: !values["no-tls"], token: values.token };
  const { emulator, kinds, controller } = values.controllers
    ? await startSimulatedPlatform(name as SimulatedPlatform, {
        listen,
        namespace: values.namespace,
        phaseDelayMs,
        onError: (e) => console.error(`simulated controller: ${(e as Error).stack ?? e}`),
      })
    : await serveProfile(name, { ...listen, namespace: values.namespace });
  console.log(`KUBECONFIG=${emulator.kubeconfigPath}`);
  const running = controller ? " with its simulated controllers" : "";
  console.log(`serving ${kinds.length} kinds (profile ${name})${running} at ${emulator.url}`);
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    controller?.stop();
    void emulator.stop().then(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

async function serveProfile(name: ProfileName, opts: Omit<EmulatorOptions, "types">) {
  const emulator = await startEmulator({ types: [], ...opts });
  // Served after start, so admission rules that look at other objects see this emulator's store.
  const kinds = profile(name, emulator.store);
  kinds.forEach((kind) => emulator.serve(kind));
  return { emulator, kinds, controller: undefined };
}

main().catch((e: Error) => {
  console.error(`emulator: ${e.message}`);
  process.exit(1);
});
