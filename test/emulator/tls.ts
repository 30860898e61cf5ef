// A private CA and a serving certificate for 127.0.0.1, so kubectl and client-node verify TLS as usual.
import { generate } from "selfsigned";

export interface ServingCertificates {
  /** PEM of the CA that signed `cert`; the kubeconfig carries it as certificate-authority-data. */
  caCert: string;
  cert: string;
  key: string;
}

let cached: Promise<ServingCertificates> | undefined;

/** One CA and certificate per process: every emulator may share them, and restarts keep them. */
export function servingCertificates(): Promise<ServingCertificates> {
  cached ??= issue();
  return cached;
}

async function issue(): Promise<ServingCertificates> {
  const validFor = { notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000) };
  // EC keys keep TLS handshakes cheap when a thousand watches connect at once.
  const ca = await generate([{ name: "commonName", value: "vm-snapshots-emulator-ca" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await generate([{ name: "commonName", value: "127.0.0.1" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validFor,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
        ],
      },
    ],
  });
  return { caCert: ca.cert, cert: server.cert, key: server.private };
}
