// --access-key/--secret-key of the client commands: both or neither (the SDK falls back to
// RMQ_ACCESS_KEY and RMQ_SECRET_KEY when neither is given).
import type { AclCredentials } from '../protocol/acl-signature.js';
import { CliError } from './cli-errors.js';

export function credentialsOption(o: { accessKey?: string; secretKey?: string }): { credentials?: AclCredentials } {
  if (o.accessKey === undefined && o.secretKey === undefined) return {};
  if (o.accessKey === undefined || o.secretKey === undefined) throw new CliError('pass both --access-key and --secret-key (or set RMQ_ACCESS_KEY and RMQ_SECRET_KEY)');
  return { credentials: { accessKey: o.accessKey, secretKey: o.secretKey } };
}
