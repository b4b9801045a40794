// The request signature of RocketMQ's ACL 1.0 (what its AclClientRPCHook and ali-ons compute):
// the values of every extFields entry but `Signature`, in the order of their sorted names,
// concatenated as UTF-8, followed by the body; HMAC-SHA1 with the secret key; base64. Clients
// send it as `Signature` beside `AccessKey` (and optionally `SecurityToken`, which is signed like
// any other field). Here because both sides use it: the broker checks it, our SDK adds it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ExtFields, RemotingCommand } from './remoting-command.js';

export const ACL_ACCESS_KEY = 'AccessKey';
export const ACL_SIGNATURE = 'Signature';
export const ACL_SECURITY_TOKEN = 'SecurityToken';

export interface AclCredentials {
  accessKey: string;
  secretKey: string;
}

/** The signature of a request's fields (Signature excluded) and body. */
export function aclSignature(extFields: ExtFields, body: Buffer | undefined, secretKey: string): string {
  const hmac = createHmac('sha1', secretKey);
  for (const key of Object.keys(extFields).sort()) {
    if (key === ACL_SIGNATURE) continue;
    const v = extFields[key];
    if (v === undefined) continue;
    hmac.update(String(v), 'utf8');
  }
  if (body !== undefined && body.length > 0) hmac.update(body);
  return hmac.digest('base64');
}

/** Adds AccessKey and Signature to a request about to be sent. */
export function signRequest(cmd: RemotingCommand, credentials: AclCredentials): void {
  cmd.extFields[ACL_ACCESS_KEY] = credentials.accessKey;
  cmd.extFields[ACL_SIGNATURE] = aclSignature(cmd.extFields, cmd.body, credentials.secretKey);
}

/** Whether `signature` is the signature of the request under `secretKey` (constant time). */
export function verifyAclSignature(cmd: RemotingCommand, signature: string, secretKey: string): boolean {
  const expected = Buffer.from(aclSignature(cmd.extFields, cmd.body, secretKey), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * The AccessKey a broker signs REGISTER_BROKER/UNREGISTER_BROKER with; the NameServer's
 * registration key, not this name, proves who sent it (src/namesrv/registration-guard.ts).
 */
export function registrationAccessKey(clusterName: string, brokerName: string): string {
  return `broker:${clusterName}/${brokerName}`;
}
