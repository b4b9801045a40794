// Writes on the leader, relays elsewhere, and rides out a leader change: when a write certainly
// did not happen (a proposal refused before it was appended because this node is not or no
// longer the leader, or one replaced by another term's entry, or a relay that never reached the
// leader) the request waits for the next role change and tries again, within a deadline. A
// write whose outcome is unknown (proposal timeout, a relay that timed out) is never replayed:
// that could store it twice. A relayed request is written or refused by the node it reaches,
// never relayed again; its refusal is marked "not stored" so the first node may try again. A node
// that hears neither a leader nor a majority of its group refuses at once (ERR_BROKER_NO_QUORUM):
// waiting out an election there is pointless, and a client retries on another group sooner.

import type { RemotingCommand } from '../protocol/remoting-command.js';
import { makeResponse } from '../protocol/remoting-command.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { BrokerContext, RoleState } from './broker-context.js';
import { noLeader, noQuorum } from './broker-errors.js';
import { FORWARD_HOPS_FIELD } from './leader-forwarder.js';

/** Total time a request may spend waiting out an election or a transfer before it is refused. */
export const LEADER_WAIT_MS = 2000;
/** Attempts per request (each after a role change or a short pause). */
const MAX_ATTEMPTS = 4;
/** Response extField: the refusal certainly stored nothing (safe for the relaying node to retry). */
export const NOT_STORED_FIELD = 'rmqNotStored';

const NOT_STORED_CODES = new Set(['ERR_BROKER_NOT_LEADER', 'ERR_BROKER_NOT_COMMITTED', 'ERR_BROKER_NO_LEADER', 'ERR_BROKER_FORWARD_NOT_SENT']);

function notStored(err: unknown): boolean {
  return NOT_STORED_CODES.has((err as { code?: string } | null)?.code ?? '');
}

/** Where a write would go now: this node when it is the ready leader, else the leader's address. */
function target(ctx: BrokerContext): string | undefined {
  if (ctx.raft.isLeader()) return 'self';
  const addr = ctx.raft.leaderAddr();
  return addr !== undefined && addr !== ctx.brokerAddr ? addr : undefined;
}

export async function writeOrForward(ctx: BrokerContext, req: RemotingCommand, write: () => Promise<RemotingCommand>): Promise<RemotingCommand> {
  if (ctx.raft.inContact?.() === false) throw noQuorum(ctx.raft.nodeId);
  const deadline = ctx.nowMs() + LEADER_WAIT_MS;
  if (req.extFields[FORWARD_HOPS_FIELD] !== undefined) return writeRelayed(ctx, req, write, deadline);
  // Built only when needed: constructing an error (with its stack) per write cost 15% of a
  // leader's busy time in profiles.
  let lastError: unknown;
  let tried: { target: string | undefined; term: number } | undefined;
  // Bounded: at most MAX_ATTEMPTS rounds, each ending in an answer or a wait within the deadline.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const left = deadline - ctx.nowMs();
    if (attempt > 0 && left <= 0) break;
    // Wait until there is somewhere to send the write that was not just tried.
    const previous = tried;
    const usable = (): boolean => {
      const t = target(ctx);
      return t !== undefined && (previous === undefined || t !== previous.target || ctx.raft.role().term !== previous.term);
    };
    // The common case (a ready leader, first attempt) goes on without a wait or a promise.
    if (!usable()) await waitUntil(ctx, left, usable);
    tried = { target: target(ctx), term: ctx.raft.role().term };
    if (tried.target === undefined) continue;
    try {
      if (tried.target === 'self') return await write();
      const resp = await ctx.forwardToLeader(req);
      if (resp.code !== ResponseCode.SERVICE_NOT_AVAILABLE || resp.extFields[NOT_STORED_FIELD] !== 'true' || attempt === MAX_ATTEMPTS - 1) return resp;
      lastError = undefined;
    } catch (err) {
      if (!notStored(err)) throw err;
      lastError = err;
    }
  }
  throw lastError ?? noLeader();
}

/**
 * A request another node relayed here is written or refused, never relayed again. A leader
 * elected a moment ago may take it once ready; a refusal that stored nothing says so.
 */
async function writeRelayed(ctx: BrokerContext, req: RemotingCommand, write: () => Promise<RemotingCommand>, deadline: number): Promise<RemotingCommand> {
  if (ctx.raft.role().role === 'leader') await waitUntil(ctx, deadline - ctx.nowMs(), () => ctx.raft.isLeader());
  let message = 'this node is not the Raft leader; retry';
  if (ctx.raft.isLeader()) {
    try {
      return await write();
    } catch (err) {
      if (!notStored(err)) throw err;
      message = (err as Error).message;
    }
  }
  return makeResponse(req, ResponseCode.SERVICE_NOT_AVAILABLE, message, { [NOT_STORED_FIELD]: 'true' });
}

/** Resolves when `ready()` holds (checked now and at every role change) or after `timeoutMs`. */
function waitUntil(ctx: BrokerContext, timeoutMs: number, ready: () => boolean): Promise<void> {
  if (ready() || timeoutMs <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    let off: () => void = () => undefined;
    const done = (): void => {
      clearTimeout(timer);
      off();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    off = ctx.raft.onRoleChange(() => {
      if (ready()) done();
    });
  });
}
