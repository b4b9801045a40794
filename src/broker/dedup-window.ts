// The idempotent producer (what JetStream calls a de-duplication window): a send carrying the
// producer's unique id (UNIQ_KEY, set by ali-ons and our SDK) whose topic already holds a message
// with that id stored within `duplicateWindowMs` (2 min) gets the first message's result (queue,
// offset, msgId) instead of being stored again. The window's state is the IndexFile: every
// replica indexes each record's UNIQ_KEY as it dispatches it (in log order, persisted, rebuilt
// after a crash), so a new leader, which dispatches every committed entry before it serves, knows
// every send its predecessor stored, with nothing replicated for it. What lives in memory, on the
// leader only, is the sends of each id still in flight: a retry that arrives while its first
// attempt is being committed waits for it instead of racing it (at most
// `duplicateWindowMaxEntries` ids; past that a send is not held back and may be stored twice).
// Retry and DLQ topics are never de-duplicated: a message sent back twice keeps its UNIQ_KEY.
// A batch (SEND_BATCH_MESSAGE) is checked message by message (onceBatch): the repeats are not
// stored again, the rest are stored together as one entry.

import { makeResponse, type RemotingCommand } from '../protocol/remoting-command.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { BrokerContext } from './broker-context.js';
import { createMessageId, decodeMessageRecord, getProperty, MessageProperty, type MessageStore } from '../store/index.js';

export interface DedupHit {
  queueId: number;
  queueOffset: number;
  /** The offset msgId of the stored copy. */
  msgId: string;
}

/** Earlier attempts of one id a send waits out before it writes anyway. */
const MAX_WAIT_ROUNDS = 4;

/** How far past now a stored copy may be (clocks of successive leaders differ a little). */
const FUTURE_SLACK_MS = 60_000;

export class DedupWindow {
  /**
   * Sends in flight here, per topic then per UNIQ_KEY (two levels, so no `topic + key` string
   * is built per message); `inflightCount` counts the ids over all topics.
   */
  private readonly inflight = new Map<string, Map<string, Promise<unknown>>>();
  private inflightCount = 0;

  constructor(
    private readonly store: MessageStore,
    private readonly windowMs: number,
    private readonly maxInflight: number,
    private readonly nowMs: () => number,
  ) {}

  /** The UNIQ_KEY of a send's properties, when de-duplication applies to it. */
  static keyOf(properties: string): string | undefined {
    const key = getProperty(properties, MessageProperty.UNIQ_KEY);
    return key === undefined || key === '' || key.length > 128 ? undefined : key;
  }

  /** The stored copy of `uniqKey` in `topic` within the window, if any. */
  find(topic: string, uniqKey: string): DedupHit | undefined {
    const now = this.nowMs();
    const beginMs = now - this.windowMs;
    const endMs = now + FUTURE_SLACK_MS;
    // Nearly every send is new: a look at the index's slot answers that without building a result.
    if (!this.store.mayHoldKey(topic, uniqKey, beginMs, endMs)) return undefined;
    let found: { messages: Buffer[]; physicalOffsets: number[] };
    try {
      found = this.store.queryByKey(topic, uniqKey, 4, beginMs, endMs);
    } catch {
      // A key the index cannot hold (too long) was never indexed: nothing to find.
      return undefined;
    }
    const { messages, physicalOffsets } = found;
    for (let i = 0; i < messages.length; i++) {
      const m = decodeMessageRecord(messages[i]!, 0, { verifyCrc: false });
      // queryByKey also matches KEYS: only the producer's own id counts here.
      if (getProperty(m.properties, MessageProperty.UNIQ_KEY) !== uniqKey) continue;
      const physicalOffset = physicalOffsets[i]!;
      const queueOffset = this.store.queueOffsetOf(m.topic, m.queueId, physicalOffset);
      return { queueId: m.queueId, queueOffset, msgId: createMessageId(m.storeHost, m.storePort, physicalOffset) };
    }
    return undefined;
  }

  private inflightOf(topic: string, uniqKey: string): Promise<unknown> | undefined {
    return this.inflight.get(topic)?.get(uniqKey);
  }

  /** Holds `uniqKey` of `topic` as in flight with `p` (replacing an earlier attempt's). */
  private hold(topic: string, uniqKey: string, p: Promise<unknown>): void {
    let keys = this.inflight.get(topic);
    if (keys === undefined) this.inflight.set(topic, (keys = new Map()));
    const size = keys.size;
    keys.set(uniqKey, p);
    this.inflightCount += keys.size - size;
  }

  /** Drops `uniqKey` of `topic` if `p` still holds it. */
  private release(topic: string, uniqKey: string, p: Promise<unknown>): void {
    const keys = this.inflight.get(topic);
    if (keys === undefined || keys.get(uniqKey) !== p) return;
    keys.delete(uniqKey);
    this.inflightCount--;
    if (keys.size === 0) this.inflight.delete(topic);
  }

  /**
   * Runs `write` for `uniqKey` of `topic` unless a send of it is in flight here: then waits for
   * that one and looks again (found: its result; not found, it failed: writes now).
   */
  async once<T>(topic: string, uniqKey: string, found: (hit: DedupHit) => T, write: () => Promise<T>): Promise<T> {
    // Bounded: each round waits for one earlier attempt, which ends (its proposal times out).
    for (let round = 0; round < MAX_WAIT_ROUNDS; round++) {
      const hit = this.find(topic, uniqKey);
      if (hit !== undefined) return found(hit);
      const earlier = this.inflightOf(topic, uniqKey);
      if (earlier === undefined) break;
      await earlier.catch(() => undefined);
    }
    if (this.inflightCount >= this.maxInflight) return write();
    const p = write();
    this.hold(topic, uniqKey, p);
    try {
      return await p;
    } finally {
      this.release(topic, uniqKey, p);
    }
  }

  /**
   * once() for a batch: `keys[i]` is message i's UNIQ_KEY (undefined: never de-duplicated).
   * Waits out earlier attempts still in flight here for any of the keys not found yet, then runs
   * `write` with each message's stored copy (undefined: not found), with those ids held in flight.
   * `hits` is undefined when no message was found (the common case: nothing to allocate).
   */
  async onceBatch<T>(topic: string, keys: readonly (string | undefined)[], write: (hits: (DedupHit | undefined)[] | undefined) => Promise<T>): Promise<T> {
    let hits = this.findAll(topic, keys);
    // Bounded: each round waits for the earlier attempts of this round, which end (their proposals time out).
    for (let round = 0; round < MAX_WAIT_ROUNDS; round++) {
      let earlier: Set<Promise<unknown>> | undefined;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (k === undefined || hits?.[i] !== undefined) continue;
        const p = this.inflightOf(topic, k);
        if (p !== undefined) (earlier ??= new Set()).add(p);
      }
      if (earlier === undefined) break;
      await Promise.all([...earlier].map((p) => p.catch(() => undefined)));
      hits = this.findAll(topic, keys);
    }
    // The ids stored now; a key repeated inside the batch is held once, so count distinct ids
    // when the plain count would not fit.
    let fresh = 0;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== undefined && hits?.[i] === undefined) fresh++;
    if (fresh > 0 && this.inflightCount + fresh > this.maxInflight) fresh = new Set(keys.filter((k, i) => k !== undefined && hits?.[i] === undefined)).size;
    if (fresh === 0 || this.inflightCount + fresh > this.maxInflight) return write(hits);
    const p = write(hits);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      if (k !== undefined && hits?.[i] === undefined) this.hold(topic, k, p);
    }
    try {
      return await p;
    } finally {
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (k !== undefined && hits?.[i] === undefined) this.release(topic, k, p);
      }
    }
  }

  /** find() for each key; undefined when none is found. */
  private findAll(topic: string, keys: readonly (string | undefined)[]): (DedupHit | undefined)[] | undefined {
    let hits: (DedupHit | undefined)[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const hit = k === undefined ? undefined : this.find(topic, k);
      if (hit !== undefined) (hits ??= new Array<DedupHit | undefined>(keys.length).fill(undefined))[i] = hit;
    }
    return hits;
  }
}

const windows = new WeakMap<BrokerContext, DedupWindow>();

/** The broker's window, or undefined when duplicateWindowMs is 0 (off). */
export function dedupWindowOf(ctx: BrokerContext): DedupWindow | undefined {
  if (ctx.config.duplicateWindowMs <= 0) return undefined;
  let w = windows.get(ctx);
  if (w === undefined) windows.set(ctx, (w = new DedupWindow(ctx.store, ctx.config.duplicateWindowMs, ctx.config.duplicateWindowMaxEntries, () => ctx.nowMs())));
  return w;
}

/** SEND_OK with the stored copy's result; the remark says it was not stored again. */
export function duplicateAnswer(req: RemotingCommand, hit: DedupHit): RemotingCommand {
  return makeResponse(req, ResponseCode.SUCCESS, `duplicate of ${hit.msgId} (queue ${hit.queueId}, offset ${hit.queueOffset}) stored within the de-duplication window; not stored again`, {
    msgId: hit.msgId,
    queueId: String(hit.queueId),
    queueOffset: String(hit.queueOffset),
  });
}
