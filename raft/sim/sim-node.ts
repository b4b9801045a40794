// One simulated Raft node: the core, its in-memory storage and a driver that follows the Ready
// contract of raft/core/messages.ts to the letter (reset, append, hard state, sync in sync
// mode when the Ready says mustSync, persisted(), send, apply, advance). It can be killed (process kill or power loss) and
// restarted from what its storage kept. The application is volatile: after a restart it
// re-applies the log from its first index.
import type { Message, ReadState, Ready } from '../core/messages.js';
import { Raft, type RaftConfig, type StepError } from '../core/raft.js';
import type { Entry, LogStart, NodeId, Role } from '../core/types.js';
import { MemoryStorage } from './memory-storage.js';
import type { Prng } from './prng.js';

export type FlushMode = 'sync' | 'async';
export type CrashKind = 'process-kill' | 'power-loss';

export interface SimNodeObserver {
  onAppend(node: NodeId, entries: readonly Entry[], prevTerm: number): void;
  onApply(node: NodeId, entry: Entry): void;
  onReset(node: NodeId, start: LogStart): void;
  onReady(node: NodeId, rd: Ready, storage: MemoryStorage): void;
  onReadState(node: NodeId, rs: ReadState): void;
  onStepError(node: NodeId, m: Message, err: StepError): void;
}

export type CoreOptions = Pick<
  RaftConfig,
  'electionTicks' | 'heartbeatTicks' | 'maxInflightMsgs' | 'maxInflightBytes' | 'maxAppBytes' | 'preVote' | 'checkQuorum'
> & Pick<RaftConfig, 'unsafeTestConcurrentConfigChanges' | 'maxPromoteLagEntries'>;

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflightMsgs: 16,
  maxInflightBytes: 1 << 20,
  maxAppBytes: 64 << 10,
  preVote: true,
  checkQuorum: true,
};

/** Bound on Ready rounds per turn: a correct core quiesces in a few. */
const MAX_READY_ROUNDS = 16;

export class SimNode {
  readonly storage: MemoryStorage;
  raft: Raft | undefined;
  /** Last index the application applied (volatile: restarts at the log start). */
  applied = 0;
  role: Role | undefined;
  incarnation = 0;
  /**
   * Asked twice per Ready, after the appends and before any send, then after the unpersisted
   * sends: a crash to strike mid-Ready, if any.
   */
  crashPoint: ((phase: 'before-send' | 'after-send') => { kind: CrashKind; extraWrittenBack: number } | undefined) | undefined;

  constructor(
    readonly id: NodeId,
    /** The bootstrap configuration: the voters this node was started with. */
    readonly peers: readonly NodeId[],
    readonly flush: FlushMode,
    private readonly core: CoreOptions,
    private readonly rng: Prng,
    private readonly observer: SimNodeObserver,
    private readonly transmit: (m: Message) => void,
  ) {
    this.storage = new MemoryStorage({ onAppend: (entries, prevTerm) => observer.onAppend(id, entries, prevTerm) });
    this.start();
  }

  isUp(): boolean {
    return this.raft !== undefined;
  }

  start(): void {
    if (this.raft !== undefined) throw new Error(`assertion: ${this.id} is already running`);
    const s = this.storage;
    this.applied = s.logStart().index;
    this.incarnation++;
    this.raft = new Raft({
      id: this.id,
      peers: this.peers,
      ...(s.membership() !== undefined ? { membership: s.membership()! } : {}),
      log: s,
      hardState: s.hardState(),
      applied: this.applied,
      random: () => this.rng.next(),
      // In sync mode only what was synced counts as durable for the leader's own vote in commits.
      persisted: this.flush === 'sync' ? s.durableIndex() : s.lastIndex(),
      ...this.core,
    });
    this.role = this.raft.status().role;
  }

  crash(kind: CrashKind, extraWrittenBack: number): void {
    this.raft = undefined;
    this.role = undefined;
    if (kind === 'power-loss') this.storage.powerLoss(extraWrittenBack);
    else this.storage.processKill();
  }

  deliver(m: Message): void {
    if (this.raft === undefined) return;
    const err = this.raft.step(m);
    if (err !== undefined) this.observer.onStepError(this.id, m, err);
  }

  tick(): void {
    this.raft?.tick();
  }

  /** The periodic flush of async mode. */
  flushTick(): void {
    if (this.raft !== undefined && this.flush === 'async') this.storage.sync();
  }

  /** Drains every Ready the core has, following the contract step by step. */
  processReady(): void {
    const raft = this.raft;
    if (raft === undefined) return;
    for (let round = 0; round < MAX_READY_ROUNDS && raft.hasReady(); round++) {
      const rd = raft.ready();
      const s = this.storage;
      // 1. Persist: reset, entries (append truncates a conflicting suffix), hard state.
      if (rd.reset !== undefined) s.reset(rd.reset);
      if (rd.entries.length > 0) s.append(rd.entries);
      // The configuration before the hard state whose commit may cover its Config entry.
      if (rd.membership !== undefined) s.setMembership(rd.membership);
      if (rd.hardState !== undefined) s.setHardState(rd.hardState);
      const wrote = rd.reset !== undefined || rd.entries.length > 0;
      // 2. Send what does not wait for persistence; a crash may strike before or after it.
      const early = this.crashPoint?.('before-send');
      if (early !== undefined) {
        this.crash(early.kind, early.extraWrittenBack);
        return;
      }
      for (const m of rd.messages) this.transmit(m);
      const late = this.crashPoint?.('after-send');
      if (late !== undefined) {
        this.crash(late.kind, late.extraWrittenBack);
        return;
      }
      if (this.flush === 'sync') {
        if (rd.mustSync) {
          s.sync();
          raft.persisted(s.lastIndex());
        }
      } else if (wrote) {
        raft.persisted(s.lastIndex());
      }
      for (const m of rd.messagesAfterPersist) this.transmit(m);
      // 3. Apply (a reset restarts the application after its start).
      if (rd.reset !== undefined) {
        this.applied = rd.reset.index;
        this.observer.onReset(this.id, rd.reset);
      }
      for (let i = rd.commitFrom; i <= rd.commitTo; i++) {
        const e = s.entries(i, i + 1, Number.MAX_SAFE_INTEGER)[0];
        if (e === undefined) throw new Error(`assertion: ${this.id} must hold committed entry ${i}`);
        this.observer.onApply(this.id, e);
        this.applied = i;
      }
      for (const rs of rd.readStates) this.observer.onReadState(this.id, rs);
      this.observer.onReady(this.id, rd, s);
      if (rd.softState !== undefined) this.role = rd.softState.role;
      // 4. Advance.
      raft.advance(rd);
    }
  }
}
