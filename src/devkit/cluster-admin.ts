// The kit's own admin client for a local cluster: it signs with the cluster's admin account when
// the cluster has ACL rules and speaks TLS when it has a CA, so each `rmq cluster` step (status,
// rolling restart, start-node, add-node, remove-node) works on a secured cluster as on a plain one.
import { Admin } from '../client/index.js';
import type { ClusterFile } from './cluster-file.js';
import { clusterAdminCredentials } from './cluster-security.js';
import { clusterClientTls } from './cluster-tls.js';

/** An Admin for the cluster in `file.dir` (not started). */
export function clusterAdmin(file: Pick<ClusterFile, 'dir'> & { namesrv: Pick<ClusterFile['namesrv'], 'addr'> }, requestTimeoutMs: number): Admin {
  const credentials = clusterAdminCredentials(file.dir);
  const tls = clusterClientTls(file.dir);
  return new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs, ...(credentials !== undefined ? { credentials } : {}), ...(tls !== undefined ? { tls } : {}) });
}
