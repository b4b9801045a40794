// The security files of a local cluster, at fixed places in its folder so a restart over the same
// folder finds them without new fields in cluster.json: the NameServer's registration key
// (`namesrv.registration-key`, every broker signs its registrations with it) and, with
// `--acl <file>`, a checked copy of the ACL rules (`plain_acl.yml`) every broker enforces. The
// launcher's own leader check then signs with the first admin account of those rules.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AclConfigError, parsePlainAcl } from '../broker/acl/plain-acl.js';
import type { AclCredentials } from '../protocol/acl-signature.js';
import type { ClusterSecurityConf } from './broker-conf.js';
import { DevkitError } from './devkit-errors.js';

const REGISTRATION_KEY_FILE = 'namesrv.registration-key';
const ACL_FILE = 'plain_acl.yml';

/**
 * Writes the cluster's security files and returns what every broker.conf needs of them (the
 * template, broker-conf.ts, writes the keys). `aclSource`: the rules to enforce (checked now, so a
 * bad file fails before any process starts).
 */
export function writeClusterSecurity(dir: string, aclSource: string | undefined): ClusterSecurityConf {
  const key = randomBytes(32).toString('hex');
  writeFileSync(join(dir, REGISTRATION_KEY_FILE), `${key}\n`, { mode: 0o600 });
  const conf: ClusterSecurityConf = { registrationKey: key };
  if (aclSource !== undefined) {
    let text: string;
    try {
      text = readFileSync(aclSource, 'utf8');
    } catch (err) {
      throw new DevkitError(`--acl ${aclSource} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    try {
      parsePlainAcl(text);
    } catch (err) {
      if (err instanceof AclConfigError) throw new DevkitError(`--acl ${aclSource}: ${err.message}`);
      throw err;
    }
    const copy = join(dir, ACL_FILE);
    writeFileSync(copy, text, { mode: 0o600 });
    conf.aclFile = copy;
  }
  return conf;
}

/** The NameServer's arguments for the registration key, when the cluster has one. */
export function namesrvSecurityArgs(dir: string): string[] {
  const path = join(dir, REGISTRATION_KEY_FILE);
  return existsSync(path) ? ['--registration-key-file', path] : [];
}

/** The first admin account of the cluster's ACL rules, for the launcher's own status requests. */
export function clusterAdminCredentials(dir: string): AclCredentials | undefined {
  const path = join(dir, ACL_FILE);
  if (!existsSync(path)) return undefined;
  for (const a of parsePlainAcl(readFileSync(path, 'utf8')).accounts.values()) {
    if (a.admin) return { accessKey: a.accessKey, secretKey: a.secretKey };
  }
  return undefined;
}
