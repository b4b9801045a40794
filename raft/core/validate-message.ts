// Rejects a message whose fields cannot come from a correct peer, before it touches any state.
// A bad message is an expected operating event (a buggy or hostile peer), so the result is a
// returned value, never a throw.
import { MessageType, type Message } from './messages.js';
import { decodeMembership } from './membership.js';
import { EntryType, MAX_TERM, type NodeId } from './types.js';

export type MessageProblem = { code: 'unknown-peer' | 'malformed'; detail: string };

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Membership of the sender is checked by the caller (raft.ts): requests may come from nodes not known yet. */
export function validateMessage(m: Message, self: NodeId): MessageProblem | undefined {
  if (typeof m !== 'object' || m === null) return { code: 'malformed', detail: 'not an object' };
  if (typeof m.from !== 'string' || m.from.length === 0) return { code: 'unknown-peer', detail: `from ${String(m.from)}` };
  if (m.from === self) return { code: 'malformed', detail: 'message from self' };
  if (m.to !== self) return { code: 'malformed', detail: `addressed to ${String(m.to)}` };
  if (!(Number.isInteger(m.type) && m.type >= MessageType.App && m.type <= MessageType.ReadIndexResp)) {
    return { code: 'malformed', detail: `type ${String(m.type)}` };
  }
  if (!isCount(m.term) || !isCount(m.index) || !isCount(m.logTerm) || !isCount(m.commit) || !isCount(m.rejectHint)) {
    return { code: 'malformed', detail: 'a numeric field is not a non-negative integer' };
  }
  // Entry and start terms are bounded by `term` below, so these two bound every term a message carries.
  if (m.term > MAX_TERM || m.logTerm > MAX_TERM) return { code: 'malformed', detail: `a term above ${MAX_TERM} leaves no room for elections` };
  if (typeof m.reject !== 'boolean' || !Array.isArray(m.entries)) return { code: 'malformed', detail: 'reject or entries' };
  if (m.context !== undefined && !(m.context instanceof Uint8Array)) return { code: 'malformed', detail: 'context' };
  if (m.type === MessageType.App) {
    let prevTerm = m.logTerm;
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      if (typeof e !== 'object' || e === null || e.index !== m.index + 1 + i) return { code: 'malformed', detail: `entry ${i} index` };
      if (!isCount(e.term) || e.term < prevTerm || e.term > m.term || e.term === 0) return { code: 'malformed', detail: `entry ${i} term` };
      if (e.type !== EntryType.Normal && e.type !== EntryType.NoOp && e.type !== EntryType.Config) return { code: 'malformed', detail: `entry ${i} type ${String(e.type)}` };
      if (!(e.payload instanceof Uint8Array)) return { code: 'malformed', detail: `entry ${i} payload` };
      if (e.type === EntryType.Config && decodeMembership(e.payload, e.index) === undefined) return { code: 'malformed', detail: `entry ${i}: not a configuration` };
      prevTerm = e.term;
    }
    if (m.logTerm > m.term) return { code: 'malformed', detail: 'logTerm above term' };
  } else if (m.entries.length > 0) {
    return { code: 'malformed', detail: 'entries on a message that carries none' };
  }
  if ((m.type === MessageType.Vote || m.type === MessageType.PreVote) && m.logTerm > m.term) {
    return { code: 'malformed', detail: 'candidate last term above its term' };
  }
  if (m.type === MessageType.Reset) {
    const s = m.start;
    if (typeof s !== 'object' || s === null || !isCount(s.index) || !isCount(s.term) || !(s.data instanceof Uint8Array) || s.term > m.term) {
      return { code: 'malformed', detail: 'reset start' };
    }
    const c = m.membership;
    if (c !== undefined && (typeof c !== 'object' || c === null || !isCount(c.index) || !Array.isArray(c.voters) || !Array.isArray(c.learners) || c.voters.length === 0 || decodeMembership(new TextEncoder().encode(JSON.stringify({ v: c.voters, l: c.learners, a: c.addresses })), c.index) === undefined)) {
      return { code: 'malformed', detail: 'reset membership' };
    }
  }
  if ((m.type === MessageType.ReadIndex || m.type === MessageType.ReadIndexResp) && m.context === undefined) {
    return { code: 'malformed', detail: 'read index without context' };
  }
  return undefined;
}
