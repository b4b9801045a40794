// A throw-away CA and a certificate for 127.0.0.1 signed by it, made with openssl in `dir` (EC
// keys: fast), exactly as docs/security.md shows. TLS tests use one per trust domain.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  /** PEM files: the CA certificate, and the node's certificate and key. */
  ca: string;
  cert: string;
  key: string;
}

export function makeTestCa(dir: string, name: string): TestCa {
  const at = (f: string): string => join(dir, `${name}-${f}`);
  const run = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', `/CN=${name} test CA`);
  run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', at('node.key'), '-out', at('node.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  run('x509', '-req', '-in', at('node.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('node.crt'), '-days', '2', '-extfile', at('ext.cnf'));
  return { ca: at('ca.crt'), cert: at('node.crt'), key: at('node.key') };
}
