// The kubeconfig a client needs to reach an emulator: one cluster, one token user, one context.
import { dump } from "js-yaml";

export interface KubeconfigOptions {
  url: string;
  token: string;
  namespace: string;
  /** PEM of the CA; without it the server speaks plain http and clients must skip TLS verification. */
  caCert?: string;
}

export function renderKubeconfig(opts: KubeconfigOptions): string {
  const cluster = opts.caCert
    ? { server: opts.url, "certificate-authority-data": Buffer.from(opts.caCert).toString("base64") }
    : // client-node refuses plain http unless verification is explicitly skipped.
      { server: opts.url, "insecure-skip-tls-verify": true };
  return dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "emulator", cluster }],
    users: [{ name: "emulator", user: { token: opts.token } }],
    contexts: [
      { name: "emulator", context: { cluster: "emulator", user: "emulator", namespace: opts.namespace } },
    ],
    "current-context": "emulator",
    preferences: {},
  });
}
