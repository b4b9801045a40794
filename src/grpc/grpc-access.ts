// Who a RocketMQ 5 call comes from and what it needs, for the broker's ACL (aclEnable=true).
// v5 clients sign every call with two metadata headers: `x-mq-date-time` (yyyyMMdd'T'HHmmss'Z',
// UTC) and `authorization: MQv2-HMAC-SHA1 Credential=<accessKey>, SignedHeaders=x-mq-date-time,
// Signature=<hex HMAC-SHA1 of the date-time under the secret key>`. Only the time is signed, so a
// captured header is refused once its time is more than GRPC_SIGNATURE_MAX_SKEW_MS away from
// ours (use TLS so it cannot be captured). Each RPC needs what its remoting counterpart needs:
// sends PUB on the topic; receives, acks and the rest of consumption SUB on the topic and the
// group; a route query PUB or SUB. The check itself is the broker's (same accounts, counters).

import { createHmac, timingSafeEqual } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import type { Resource } from './proto.js';

export const AUTHORIZATION_HEADER = 'authorization';
export const DATE_TIME_HEADER = 'x-mq-date-time';
/** A signed call whose x-mq-date-time is further than this from the broker's clock is refused. */
export const GRPC_SIGNATURE_MAX_SKEW_MS = 15 * 60_000;

export type AccessPerm = 'PUB' | 'SUB' | 'ANY';
export interface AccessNeed { kind: 'topic' | 'group'; name: string; perm: AccessPerm }

export interface V5Credentials {
  accessKey: string;
  signature: string;
  dateTime: string;
}

/** A refusal as the endpoint answers it: UNAUTHORIZED (who) or FORBIDDEN (what). */
export interface AccessRefusal { code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string }

/**
 * The broker's ACL as the endpoint sees it: undefined when the call may run, else the refusal
 * (already counted and logged by the broker). `method` names the RPC in remarks. `atMs` is the
 * time the signature is judged at (default now): a Telemetry stream's settings commands are
 * judged at the time the stream opened, whose headers they carry.
 */
export type GrpcAccessCheck = (metadata: grpc.Metadata, peer: string, method: string, needs: readonly AccessNeed[], atMs?: number) => AccessRefusal | undefined;

const AUTH_RE = /^MQv2-HMAC-SHA1\s+Credential=([^,\s]*)\s*,\s*SignedHeaders=([^,\s]*)\s*,\s*Signature=([0-9A-Fa-f]+)\s*$/;

function header(metadata: grpc.Metadata, name: string): string | undefined {
  const v = metadata.get(name)[0];
  return v === undefined ? undefined : v.toString();
}

/** The access key and signature a call carries, or undefined when it carries none (or a malformed one). */
export function v5CredentialsOf(metadata: grpc.Metadata): V5Credentials | undefined {
  const auth = header(metadata, AUTHORIZATION_HEADER);
  const m = auth === undefined ? null : AUTH_RE.exec(auth);
  if (m === null) return undefined;
  // Credential may carry more after a '/' (a region, in some clients): the key comes first.
  const accessKey = m[1]!.split('/')[0]!;
  if (accessKey === '' || m[2]!.toLowerCase() !== DATE_TIME_HEADER) return undefined;
  return { accessKey, signature: m[3]!, dateTime: header(metadata, DATE_TIME_HEADER) ?? '' };
}

/** "20231213T063059Z" → ms since the epoch, or undefined. */
export function parseDateTime(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isFinite(ms) ? ms : undefined;
}

/** The signature a client with `secretKey` sends for `dateTime` (upper-case hex HMAC-SHA1). */
export function v5Signature(secretKey: string, dateTime: string): string {
  return createHmac('sha1', secretKey).update(dateTime, 'utf8').digest('hex').toUpperCase();
}

/** Whether `c` was signed with `secretKey` at a time within the allowed skew of `nowMs` (constant time). */
export function v5SignedWith(c: V5Credentials, secretKey: string, nowMs: number): boolean {
  const at = parseDateTime(c.dateTime);
  if (at === undefined || Math.abs(nowMs - at) > GRPC_SIGNATURE_MAX_SKEW_MS) return false;
  const expected = Buffer.from(v5Signature(secretKey, c.dateTime), 'utf8');
  const given = Buffer.from(c.signature.toUpperCase(), 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function named(r: Resource | null | undefined): string | undefined {
  const n = r?.name;
  return typeof n === 'string' && n !== '' ? n : undefined;
}

function add(out: AccessNeed[], kind: 'topic' | 'group', r: Resource | null | undefined, perm: AccessPerm): void {
  const name = named(r);
  if (name !== undefined) out.push({ kind, name, perm });
}

type Req = Record<string, unknown>;

/** What one unary or server-streaming RPC needs (Telemetry: see settingsNeeds). */
export function needsOf(method: string, req: Req): AccessNeed[] {
  const out: AccessNeed[] = [];
  const topic = req['topic'] as Resource | undefined;
  const group = req['group'] as Resource | undefined;
  switch (method) {
    case 'QueryRoute':
      add(out, 'topic', topic, 'ANY');
      break;
    case 'SendMessage':
      for (const m of (req['messages'] as { topic?: Resource }[] | undefined) ?? []) add(out, 'topic', m.topic, 'PUB');
      break;
    case 'EndTransaction':
      add(out, 'topic', topic, 'PUB');
      break;
    case 'ReceiveMessage':
      add(out, 'topic', (req['messageQueue'] as { topic?: Resource } | undefined)?.topic, 'SUB');
      add(out, 'group', group, 'SUB');
      break;
    case 'QueryAssignment':
    case 'AckMessage':
    case 'ChangeInvisibleDuration':
    case 'ForwardMessageToDeadLetterQueue':
      add(out, 'topic', topic, 'SUB');
      add(out, 'group', group, 'SUB');
      break;
    case 'Heartbeat':
    case 'NotifyClientTermination':
      add(out, 'group', group, 'SUB');
      break;
    default:
      // Unserved methods need only a valid signature (they are answered UNSUPPORTED anyway).
      break;
  }
  return out;
}

/** What a client's announced settings need: PUB on each topic it publishes to, SUB on its group and topics. */
export function settingsNeeds(settings: { publishing?: { topics?: unknown[] } | null; subscription?: Record<string, unknown> | null }): AccessNeed[] {
  const out: AccessNeed[] = [];
  for (const t of settings.publishing?.topics ?? []) add(out, 'topic', t as Resource, 'PUB');
  const sub = settings.subscription;
  if (sub) {
    add(out, 'group', sub['group'] as Resource | undefined, 'SUB');
    for (const e of (sub['subscriptions'] as { topic?: Resource }[] | undefined) ?? []) add(out, 'topic', e.topic, 'SUB');
  }
  return out;
}
