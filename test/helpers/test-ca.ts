// A throw-away CA and a certificate for 127.0.0.1 signed by it, in `dir/name/`. The openssl
// commands live in one place, the kit's cluster-tls.ts (what `rmq cluster up --tls` runs); TLS
// tests use one CA per trust domain.
import { join } from 'node:path';
import { writeClusterTls } from '../../src/devkit/cluster-tls.js';

export interface TestCa {
  /** PEM files: the CA certificate, and the node's certificate and key. */
  ca: string;
  cert: string;
  key: string;
}

export function makeTestCa(dir: string, name: string): TestCa {
  const f = writeClusterTls(join(dir, name));
  return { ca: f.caPath, cert: f.certPath, key: f.keyPath };
}
