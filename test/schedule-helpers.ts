// Fakes for the delay schedule service's tests: one replicated log and store that several fake
// "nodes" share (replicas agree on committed data), and a fake node whose Raft facade appends to
// it, with switches for a refused append, an append whose outcome is unknown (held, committed
// later by the test) and a failing control entry.

import pino from 'pino';
import type { BrokerContext, RoleState } from '../src/broker/broker-context.js';
import { BrokerError, notLeader } from '../src/broker/broker-errors.js';
import { decodeControlEntry, encodeControlEntry, type ControlCommand } from '../src/broker/control-entry.js';
import { applyDelayLevel } from '../src/broker/delay-rewrite.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { ResponseCode } from '../src/protocol/index.js';
import { decodeMessageRecord, encodeMessageRecords, MessageStore, type MessageRecord } from '../src/store/index.js';
import { props } from './broker-helpers.js';
import { FakeLog, message, removeDir, tempDir } from './store-helpers.js';

/** One replicated log and store that fake nodes share. */
export class SharedLog {
  readonly dir = tempDir('schedule');
  readonly log = new FakeLog();
  readonly metadata = new MetadataState();
  readonly store = MessageStore.open(this.dir, this.log, { onControl: (index, payload) => this.metadata.apply(index, decodeControlEntry(payload)) });
  nowMs = 0;

  append(payload: Buffer): number {
    const index = this.log.appendPayload(payload);
    this.store.dispatchUpTo(index);
    return index;
  }

  /** Parks a message stored at `storedAtMs` at `level` (1..64), as the send path does. */
  park(body: string, level: number, storedAtMs: number): void {
    const record = message({ topic: 'REAL_T', queueId: 1, body: Buffer.from(body), properties: props({ DELAY: String(level), KEYS: body.slice(0, 32) }), storeTimestamp: storedAtMs });
    applyDelayLevel(record, 64);
    this.append(encodeMessageRecords([record]));
  }

  /** Bodies delivered to REAL_T queue 1, in order. */
  bodies(): string[] {
    const r = this.store.getMessage('REAL_T', 1, 0, 4096, 64 * 1024 * 1024);
    return r.messages.map((m) => Buffer.from(decodeMessageRecord(m, 0).body).toString());
  }

  close(): void {
    this.store.close();
    removeDir(this.dir);
  }
}

export interface FakeNodeOptions {
  messageDelayLevel?: string;
  mappedFileSizeCommitLog?: number;
  messageDelayLevelChangeAllowed?: boolean;
}

export class FakeNode {
  private leads = false;
  private readonly listeners = new Set<(s: RoleState) => void>();
  /** Control entries are refused as from a deposed leader. */
  failControl = false;
  /** The next append is held (not in the log yet) and answered "outcome unknown". */
  stallNext = false;
  /** Payloads held by stallNext, in order; commitHeld() appends them. */
  readonly held: Buffer[] = [];
  /** Every payload the node was asked to append (held ones included). */
  readonly puts: Buffer[] = [];
  /** Log lines at warn and above, parsed. */
  readonly logLines: { level: number; msg: string }[] = [];
  readonly ctx: BrokerContext;

  constructor(private readonly shared: SharedLog, readonly id: string, options: FakeNodeOptions = {}) {
    const raft = {
      nodeId: id,
      peerIds: ['a', 'b'],
      isLeader: () => this.leads,
      role: (): RoleState => ({ role: this.leads ? 'leader' : 'follower', leaderId: '', term: 1, ready: this.leads }),
      onRoleChange: (l: (s: RoleState) => void) => {
        this.listeners.add(l);
        return () => this.listeners.delete(l);
      },
      proposeControl: async (command: ControlCommand) => {
        if (!this.leads || this.failControl) throw notLeader('fake');
        return { index: shared.append(encodeControlEntry(command)) };
      },
    };
    const log = pino({ level: 'warn' }, { write: (line: string) => void this.logLines.push(JSON.parse(line) as { level: number; msg: string }) });
    this.ctx = {
      config: {
        messageDelayLevel: options.messageDelayLevel ?? '1s 5s',
        mappedFileSizeCommitLog: options.mappedFileSizeCommitLog ?? 64 * 1024 * 1024,
        messageDelayLevelChangeAllowed: options.messageDelayLevelChangeAllowed ?? false,
      },
      storeHost: { host: '127.0.0.1', port: 10911 },
      log,
      store: shared.store,
      metadata: shared.metadata,
      raft,
      nowMs: () => shared.nowMs,
      putMessages: async (records: readonly MessageRecord[]) => {
        if (!this.leads) throw notLeader('fake');
        const payload = encodeMessageRecords(records);
        this.puts.push(payload);
        if (this.stallNext) {
          this.stallNext = false;
          this.held.push(payload);
          throw new BrokerError('ERR_BROKER_OUTCOME_UNKNOWN', ResponseCode.SERVICE_NOT_AVAILABLE, 'outcome unknown: not committed in time (fake)');
        }
        return { index: shared.append(payload), term: 1, records: [] };
      },
    } as unknown as BrokerContext;
  }

  /** The held payloads commit now (the unknown outcome turns out to be "stored"). */
  commitHeld(): void {
    for (const p of this.held.splice(0)) this.shared.append(p);
  }

  setLeader(leads: boolean): void {
    this.leads = leads;
    const state = this.ctx.raft.role();
    for (const l of this.listeners) l(state);
  }

  warnings(): string[] {
    return this.logLines.filter((l) => l.level >= 40).map((l) => l.msg);
  }
}
