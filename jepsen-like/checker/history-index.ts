// One pass over a history that pairs every invoke with its completion and indexes sends by
// value and reads by queue position. Every checker asks for it; it is computed once per history
// object (a WeakMap memo) so checkAll stays one pass, while each checker remains a pure function
// of the history it is given. A send of a rolled-back transaction counts as `fail` whatever its
// completion: it promised its message would never be visible.
import { historyAssert } from '../history/errors.js';
import type { History, MessageValue, ReadItem, ReadOp, SendOp } from '../history/types.js';
import { positionKey, type Position } from './result.js';

/** `info` also stands for an invoke the run never completed. */
export type SendOutcome = 'ok' | 'fail' | 'info';

export interface SendAttempt {
  invoke: SendOp;
  completion: SendOp | undefined;
  outcome: SendOutcome;
}

export interface ReadObservation {
  item: ReadItem;
  /** The ok completion that returned the item. */
  op: ReadOp;
}

export interface PositionReads extends Position {
  /** Each distinct value read here, with the first read that saw it. */
  values: Map<MessageValue, ReadObservation>;
}

export interface HistoryIndex {
  /** Send attempts per value, in invoke order. */
  sendsByValue: Map<MessageValue, SendAttempt[]>;
  /** Send attempts in invoke order. */
  sends: SendAttempt[];
  /** Items of ok polls and drains, in history order. */
  reads: ReadObservation[];
  /** positionKey → what was read there. */
  positions: Map<string, PositionReads>;
  /** value → positionKey → position where it was read. */
  positionsByValue: Map<MessageValue, Map<string, Position>>;
}

const memo = new WeakMap<History, HistoryIndex>();

export function indexHistory(history: History): HistoryIndex {
  const cached = memo.get(history);
  if (cached !== undefined) return cached;
  const index = buildIndex(history);
  memo.set(history, index);
  return index;
}

function buildIndex(history: History): HistoryIndex {
  const sendsByValue = new Map<MessageValue, SendAttempt[]>();
  const sends: SendAttempt[] = [];
  const reads: ReadObservation[] = [];
  const positions = new Map<string, PositionReads>();
  const positionsByValue = new Map<MessageValue, Map<string, Position>>();
  // JSON spelling of the process → its open send attempt (reads need no pairing here).
  const openSends = new Map<string, SendAttempt>();

  for (const op of history) {
    if (op.f === 'send') {
      const process = JSON.stringify(op.process);
      if (op.type === 'invoke') {
        const attempt: SendAttempt = { invoke: op, completion: undefined, outcome: op.value.txn === 'rollback' ? 'fail' : 'info' };
        openSends.set(process, attempt);
        sends.push(attempt);
        const list = sendsByValue.get(op.value.value);
        if (list === undefined) sendsByValue.set(op.value.value, [attempt]);
        else list.push(attempt);
      } else {
        const attempt = openSends.get(process);
        // The reader and the recorder guarantee pairing; a history that breaks it is a caller bug.
        historyAssert(attempt !== undefined, `send completion without invoke at index ${op.index}`);
        attempt.completion = op;
        // A rolled-back transaction promised, like a fail, that its message never becomes visible.
        attempt.outcome = attempt.invoke.value.txn === 'rollback' ? 'fail' : op.type;
        openSends.delete(process);
      }
    } else if ((op.f === 'poll' || op.f === 'drain') && op.type === 'ok' && op.value !== null) {
      for (const item of op.value) {
        const observation = { item, op };
        reads.push(observation);
        const key = positionKey(item.queue, item.offset);
        let at = positions.get(key);
        if (at === undefined) {
          at = { queue: item.queue, offset: item.offset, values: new Map() };
          positions.set(key, at);
        }
        if (!at.values.has(item.value)) at.values.set(item.value, observation);
        let where = positionsByValue.get(item.value);
        if (where === undefined) {
          where = new Map();
          positionsByValue.set(item.value, where);
        }
        if (!where.has(key)) where.set(key, { queue: item.queue, offset: item.offset });
      }
    }
  }
  return { sendsByValue, sends, reads, positions, positionsByValue };
}

/** The position an ok send's completion acknowledged, if it reported one. */
export function acknowledgedPosition(attempt: SendAttempt): Position | undefined {
  if (attempt.outcome !== 'ok') return undefined;
  const done = attempt.completion?.value;
  const queue = done?.queue ?? attempt.invoke.value.queue;
  const offset = done?.offset;
  return queue === undefined || offset === undefined ? undefined : { queue, offset };
}
