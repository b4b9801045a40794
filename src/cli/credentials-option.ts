// --access-key/--secret-key of the client commands: both or neither (the SDK falls back to
// RMQ_ACCESS_KEY and RMQ_SECRET_KEY when neither is given); --tls/--tls-ca for TLS to brokers.
import { readFileSync } from 'node:fs';
import type { AclCredentials } from '../protocol/acl-signature.js';
import { CliError } from './cli-errors.js';

export function credentialsOption(o: { accessKey?: string; secretKey?: string }): { credentials?: AclCredentials } {
  if (o.accessKey === undefined && o.secretKey === undefined) return {};
  if (o.accessKey === undefined || o.secretKey === undefined) throw new CliError('pass both --access-key and --secret-key (or set RMQ_ACCESS_KEY and RMQ_SECRET_KEY)');
  return { credentials: { accessKey: o.accessKey, secretKey: o.secretKey } };
}

/** --tls (system CAs) or --tls-ca <file>: connect to the NameServer and brokers with TLS (else RMQ_TLS / RMQ_TLS_CA). */
export function tlsOption(o: { tls?: boolean; tlsCa?: string }): { tls?: boolean | { ca: Buffer } } {
  if (o.tlsCa !== undefined) {
    try {
      return { tls: { ca: readFileSync(o.tlsCa) } };
    } catch (err) {
      throw new CliError(`--tls-ca ${o.tlsCa} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return o.tls === true ? { tls: true } : {};
}
