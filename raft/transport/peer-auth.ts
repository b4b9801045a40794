// Mutual authentication of the two ends of a Raft connection with a secret shared by the group.
// Without it any process that reaches a Raft port can claim a peer's id, and one forged message
// with a huge term (or a vote request) disrupts the group; and a process listening on a peer's
// address would be sent the log. The handshake, when the group has a secret:
//
//   dialer   -> acceptor  auth hello  kind 3, msgpack [version, from, to, dialerNonce]
//   acceptor -> dialer    challenge   kind 4, msgpack [acceptorNonce, acceptorMac]
//   dialer   -> acceptor  proof       kind 5, msgpack [dialerMac]
//
// Each MAC is HMAC-SHA256 with the secret over (role, from, to, both nonces), so it proves the
// sender holds the secret for this very connection: fresh nonces on both sides defeat replay,
// the role label stops a MAC from one direction being reflected back as the other, and the ids
// bind it to the claimed identities. The dialer sends no Raft message before it has checked the
// acceptor's MAC; the acceptor hands nothing to Raft before it has checked the dialer's.
//
// Several secrets may be configured to rotate without downtime: the first signs, any verifies.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Packr } from 'msgpackr';
import { TransportError } from './errors.js';
import { FRAME_PREFIX_BYTES } from './frame-codec.js';

export const FRAME_KIND_AUTH_HELLO = 3;
export const FRAME_KIND_AUTH_CHALLENGE = 4;
export const FRAME_KIND_AUTH_PROOF = 5;
export const NONCE_BYTES = 32;
const MAC_BYTES = 32;
const MAC_LABEL = 'rmq-raft-peer-auth/1';

const packr = new Packr({ useRecords: false, moreTypes: false });

export interface AuthHello {
  version: number;
  from: string;
  to: string;
  nonce: Buffer;
}

export type MacRole = 'acceptor' | 'dialer';

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The MAC one side sends: `from` is always the dialer, `to` the acceptor. */
export function peerMac(secret: string, role: MacRole, from: string, to: string, dialerNonce: Buffer, acceptorNonce: Buffer): Buffer {
  return createHmac('sha256', secret).update(packr.pack([MAC_LABEL, role, from, to, dialerNonce, acceptorNonce])).digest();
}

/** True when `mac` was made with one of `secrets` (each compared in constant time). */
export function macMatches(secrets: readonly string[], mac: Buffer, role: MacRole, from: string, to: string, dialerNonce: Buffer, acceptorNonce: Buffer): boolean {
  if (mac.length !== MAC_BYTES) return false;
  let ok = false;
  for (const s of secrets) {
    if (timingSafeEqual(peerMac(s, role, from, to, dialerNonce, acceptorNonce), mac)) ok = true;
  }
  return ok;
}

function frame(kind: number, fields: unknown[]): Buffer {
  const body = packr.pack(fields);
  const out = Buffer.allocUnsafe(FRAME_PREFIX_BYTES + 1 + body.length);
  out.writeUInt32BE(1 + body.length, 0);
  out[FRAME_PREFIX_BYTES] = kind;
  body.copy(out, FRAME_PREFIX_BYTES + 1);
  return out;
}

export function encodeAuthHello(h: AuthHello): Buffer {
  return frame(FRAME_KIND_AUTH_HELLO, [h.version, h.from, h.to, h.nonce]);
}

export function encodeChallenge(nonce: Buffer, mac: Buffer): Buffer {
  return frame(FRAME_KIND_AUTH_CHALLENGE, [nonce, mac]);
}

export function encodeProof(mac: Buffer): Buffer {
  return frame(FRAME_KIND_AUTH_PROOF, [mac]);
}

function fieldsOf(body: Buffer, kind: number, what: string, count: number): unknown[] {
  if (body.length < 1 || body[0] !== kind) throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `malformed frame: expected ${what}`);
  let v: unknown;
  try {
    v = packr.unpack(body.subarray(1));
  } catch (err) {
    throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `malformed frame: ${what} does not decode`, { cause: err });
  }
  if (!Array.isArray(v) || v.length !== count) throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `malformed frame: ${what} is not a ${count}-field array`);
  return v;
}

function bytes(v: unknown, length: number, what: string): Buffer {
  if (!(v instanceof Uint8Array) || v.length !== length) throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', `malformed frame: ${what} is not ${length} bytes`);
  return Buffer.from(v.buffer, v.byteOffset, v.length);
}

export function decodeAuthHello(body: Buffer): AuthHello {
  const [version, from, to, nonce] = fieldsOf(body, FRAME_KIND_AUTH_HELLO, 'an authenticated hello', 4);
  if (typeof version !== 'number' || typeof from !== 'string' || typeof to !== 'string') {
    throw new TransportError('ERR_TRANSPORT_FRAME_MALFORMED', 'malformed frame: authenticated hello is not [version, from, to, nonce]');
  }
  return { version, from, to, nonce: bytes(nonce, NONCE_BYTES, 'the nonce') };
}

export function decodeChallenge(body: Buffer): { nonce: Buffer; mac: Buffer } {
  const [nonce, mac] = fieldsOf(body, FRAME_KIND_AUTH_CHALLENGE, 'a challenge', 2);
  return { nonce: bytes(nonce, NONCE_BYTES, 'the nonce'), mac: bytes(mac, MAC_BYTES, 'the MAC') };
}

export function decodeProof(body: Buffer): Buffer {
  const [mac] = fieldsOf(body, FRAME_KIND_AUTH_PROOF, 'a proof', 1);
  return bytes(mac, MAC_BYTES, 'the MAC');
}
