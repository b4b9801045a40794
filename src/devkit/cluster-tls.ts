// The TLS material of a local cluster started with `rmq cluster up --tls`: a throw-away test CA
// and one certificate for 127.0.0.1 (every process of a local cluster listens there), made with
// openssl as docs/security.md shows, at fixed places in `<dir>/tls/` so a restart over the same
// folder finds them. Every broker then serves TLS on its client port and front doors, runs mutual
// TLS between Raft peers and registers over TLS; the NameServer serves TLS only; the launcher's
// own requests trust the CA. Never use this CA outside a test cluster.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from 'node:tls';
import { DevkitError } from './devkit-errors.js';

/** The PEM files of a TLS local cluster. */
export interface ClusterTlsFiles {
  caPath: string;
  certPath: string;
  keyPath: string;
}

const TLS_FOLDER = 'tls';

function filesOf(dir: string): ClusterTlsFiles {
  const at = (f: string): string => join(dir, TLS_FOLDER, f);
  return { caPath: at('ca.crt'), certPath: at('node.crt'), keyPath: at('node.key') };
}

/** Makes the CA and the 127.0.0.1 certificate (EC P-256, valid 30 days) with openssl. */
export function writeClusterTls(dir: string): ClusterTlsFiles {
  const folder = join(dir, TLS_FOLDER);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  const at = (f: string): string => join(folder, f);
  const openssl = (...args: string[]): void => {
    try {
      execFileSync('openssl', args, { stdio: 'pipe' });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
      const why = e.code === 'ENOENT' ? 'openssl is not on PATH' : (e.stderr?.toString().trim() || e.message);
      throw new DevkitError(`--tls: could not make the test certificates with openssl (${why})`, 'ERR_DEVKIT_START_FAILED');
    }
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '30', '-subj', '/CN=rmq local cluster test CA');
  openssl('req', ...ec, '-keyout', at('node.key'), '-out', at('node.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', at('node.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('node.crt'), '-days', '30', '-extfile', at('ext.cnf'));
  for (const key of ['ca.key', 'node.key']) chmodSync(at(key), 0o600);
  return filesOf(dir);
}

/** The cluster's TLS files when it was started with --tls; undefined otherwise. */
export function clusterTlsFiles(dir: string): ClusterTlsFiles | undefined {
  const files = filesOf(dir);
  return existsSync(files.certPath) && existsSync(files.keyPath) && existsSync(files.caPath) ? files : undefined;
}

/** What the launcher's own clients (leader wait, status) connect with: the cluster's CA. */
export function clusterClientTls(dir: string): ConnectionOptions | undefined {
  const files = clusterTlsFiles(dir);
  return files === undefined ? undefined : { ca: readFileSync(files.caPath) };
}

/** The NameServer's arguments for TLS, when the cluster has it. */
export function namesrvTlsArgs(dir: string): string[] {
  const files = clusterTlsFiles(dir);
  return files === undefined ? [] : ['--tls-cert-path', files.certPath, '--tls-key-path', files.keyPath];
}
