// One seeded schedule of three real RaftNode instances (turns, Ready handling, pending
// proposals, flush modes, timers) under simulated time and network, in two phases:
//   safety: message loss, delay/reordering, duplication, partitions, an isolated leader that
//     keeps running, process kills and power losses, restarts from storage, and clients
//     proposing batches of 1..8 entries, while the Raft checker and the client checker watch;
//   liveness: faults healed and stopped, every node restarted; within a bound every replica
//     applies the same log again and every batch a live node holds is answered.
// The same seed and plan replay the same run exactly.
import pino from 'pino';
import type { Entry, NodeId } from '../../core/types.js';
import { RaftNode, type RaftNodeOptions } from '../../node/raft-node.js';
import type { LogStorage } from '../../storage/log-storage.js';
import { SafetyChecker } from '../checker.js';
import { Prng } from '../prng.js';
import type { CrashKind } from '../sim-node.js';
import { ClientChecker, type ClientBatch } from './client-checker.js';
import { nodePlanFromSeed, type NodeSimPlan } from './node-plan.js';
import { SimScheduler, type SimNodeClock } from './sim-clock.js';
import { mmapStorageFactory } from './mmap-sim-storage.js';
import { memoryStorageFactory, type SimStorageFactory, type SimStorageFactoryMaker } from './sim-storage.js';
import { SimWire, type SimTransport } from './sim-wire.js';

export { nodePlanFromSeed, type NodeSimPlan } from './node-plan.js';

export const PERIOD_MS = 10;
const TICK_MS = 10;
const ELECTION_TICKS = 10;
/** Liveness bound after healing, in periods: many election timeouts, still finite. */
const LIVENESS_PERIODS_MAX = 1500;
const NODE_IDS: readonly NodeId[] = ['n0', 'n1', 'n2'];
const silent = pino({ level: 'silent' });

export interface NodeSimStats {
  periods: number;
  leaders: number;
  committed: number;
  batches: number;
  ok: number;
  notStored: number;
  unknown: number;
  orphaned: number;
  crashes: number;
  powerLosses: number;
  /** Starts in the core's recovering state (async flush, the log reported mayHaveLostWrites). */
  recovering: number;
  reads: number;
  messages: number;
  events: number;
}

export interface NodeSimResult {
  seed: number;
  plan: NodeSimPlan;
  violations: string[];
  stats: NodeSimStats;
}

export interface NodeSimOptions {
  verbose?: (line: string) => void;
  /** Where each node's log comes from; by default the plan's `storage` choice (see storageFactoryFor). */
  storage?: SimStorageFactoryMaker;
}

interface Replica {
  id: NodeId;
  node: RaftNode | undefined;
  clock: SimNodeClock | undefined;
  transport: SimTransport | undefined;
  storage: LogStorage | undefined;
  incarnation: number;
}

class NodeSchedule {
  private readonly rng: Prng;
  private readonly sched = new SimScheduler();
  private readonly wire: SimWire;
  readonly checker = new SafetyChecker();
  private readonly client = new ClientChecker(this.checker);
  private readonly storage: SimStorageFactory;
  private readonly replicas: Replica[];
  readonly stats: NodeSimStats = {
    periods: 0, leaders: 0, committed: 0, batches: 0, ok: 0, notStored: 0, unknown: 0, orphaned: 0, crashes: 0, powerLosses: 0, recovering: 0, reads: 0, messages: 0, events: 0,
  };

  constructor(
    seed: number,
    private readonly plan: NodeSimPlan,
    private readonly verbose: ((line: string) => void) | undefined,
    makeStorage: SimStorageFactoryMaker,
  ) {
    this.rng = new Prng(seed);
    this.wire = new SimWire(this.sched, this.rng.fork(), { dropRate: plan.dropRate, duplicateRate: plan.duplicateRate, maxDelayMs: plan.maxDelayMs });
    // The factory's own random source, so its draws leave the schedule's unchanged.
    const storageRng = new Prng((seed ^ 0x5a7e0e11) >>> 0);
    this.storage = makeStorage(plan.storageOptions ?? {}, (node, entries, prevTerm) => this.checker.onAppend(node, entries, prevTerm), storageRng);
    this.replicas = NODE_IDS.map((id) => ({ id, node: undefined, clock: undefined, transport: undefined, storage: undefined, incarnation: 0 }));
    this.checker.bootstrap(NODE_IDS);
    const { holds, durablyHolds } = this.storage;
    // Sync flush: what is committed is durable on a majority. Async: only on a majority's logs.
    const keeps = plan.flush === 'sync' && plan.powerLoss ? durablyHolds : holds;
    if (keeps !== undefined) this.checker.survives = keeps;
  }

  async run(): Promise<NodeSimResult> {
    for (const r of this.replicas) await this.start(r);
    for (let p = 0; p < this.plan.faultPeriods && this.ok(); p++) {
      this.faults();
      if (this.rng.chance(this.plan.proposalRate)) this.propose(this.rng.int(1, this.plan.maxBatch));
      if (this.rng.chance(this.plan.readRate)) this.read();
      if (this.rng.chance(this.plan.transferRate)) this.transfer();
      await this.period();
    }
    if (this.ok()) await this.liveness();
    for (const r of this.replicas) r.clock?.kill();
    this.stats.committed = this.checker.maxCommitted;
    this.stats.batches = this.client.batches.length;
    Object.assign(this.stats, this.client.counts);
    this.stats.messages = this.wire.sent;
    this.stats.events = this.sched.eventsRun;
    return { seed: 0, plan: this.plan, violations: this.checker.violations, stats: this.stats };
  }

  private ok(): boolean {
    return this.checker.violations.length === 0;
  }

  private say(line: string): void {
    this.verbose?.(`[${this.sched.now} ms] ${line}`);
  }

  /** Runs one period of simulated time, then lets the promise callbacks (client outcomes) run. */
  private async period(): Promise<void> {
    this.stats.periods++;
    this.checker.now = this.sched.now;
    this.sched.runUntil(this.sched.now + PERIOD_MS);
    // setImmediate runs after every pending promise callback: all outcomes are recorded.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  // ---- node lifecycle ----

  private async start(r: Replica): Promise<void> {
    const clock = this.sched.clockView();
    let storage: LogStorage;
    try {
      storage = this.storage.open(r.id, clock);
    } catch (err) {
      return this.checker.violate(`${r.id}'s log cannot be opened: ${String(err)}`);
    }
    const incarnation = ++r.incarnation;
    const rng = this.rng.fork();
    this.checker.onStart(r.id, storage.logStart().index);
    const options: RaftNodeOptions = {
      id: r.id,
      group: 'sim',
      peers: NODE_IDS.map((id, i) => ({ id, host: '127.0.0.1', port: i + 1 })),
      storage,
      flush: this.plan.flush === 'sync' ? { mode: 'sync' } : { mode: 'async', intervalMs: this.plan.asyncFlushIntervalMs },
      applied: 0,
      onApply: (entries) => this.onApply(r.id, entries),
      onReset: (start) => this.checker.onReset(r.id, start),
      logger: silent,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 2,
      maxAppBytes: this.plan.maxAppBytes,
      maxInflightMsgs: this.plan.maxInflightMsgs,
      proposalTimeoutMs: 60_000,
      warmAheadBytes: 0,
      random: () => rng.next(),
      clock,
      transport: (onMessage) => {
        const t = this.wire.transport(r.id, onMessage);
        r.transport = t;
        return t;
      },
      ...this.plan.nodeOptions,
    };
    const node = new RaftNode(options);
    node.on('role', (c: { role: string; term: number }) => {
      if (c.role !== 'leader' || r.node !== node) return;
      this.stats.leaders++;
      this.say(`${r.id} leads term ${c.term} (log ${storage.firstIndex()}..${storage.lastIndex()})`);
      this.checker.onLeader(r.id, c.term, storage);
    });
    Object.assign(r, { node, clock, storage });
    await node.start();
    const recovering = node.status().recovering;
    if (recovering) this.stats.recovering++;
    this.say(`${r.id} starts (incarnation ${incarnation}) at term ${storage.hardState().term} with log ${storage.firstIndex()}..${storage.lastIndex()}${recovering ? ', recovering' : ''}`);
  }

  private onApply(node: NodeId, entries: Entry[]): void {
    for (const e of entries) {
      this.checker.onApply(node, e);
      this.client.onApply(e);
    }
  }

  /** Kills the process (no close(): nothing is flushed), then the storage takes the crash. */
  private crash(r: Replica, kind: CrashKind): void {
    const log = r.storage;
    const at = log === undefined ? '' : `: log ${log.firstIndex()}..${log.lastIndex()}, durable to ${log.durableIndex()}, commit ${log.hardState().commit} stored`;
    r.clock?.kill();
    void r.transport?.close();
    this.client.orphan(r.id, r.incarnation);
    Object.assign(r, { node: undefined, clock: undefined, transport: undefined, storage: undefined });
    try {
      this.storage.crash(r.id, kind, this.rng);
    } catch (err) {
      // The log could not be reopened from what the crash left: the storage's bug, reported.
      this.checker.violate(`${r.id}'s log cannot be reopened after a ${kind}: ${String(err)}`);
    }
    this.stats.crashes++;
    if (kind === 'power-loss') this.stats.powerLosses++;
    this.say(`${r.id} crashes (${kind})${at}`);
    this.checkCommittedKept();
  }

  /** A majority still keeps every committed entry (a node's log as its next start will see it). */
  private checkCommittedKept(): void {
    const holds = this.storage.holds;
    if (holds === undefined) return;
    const need = Math.floor(NODE_IDS.length / 2) + 1;
    for (let i = 1; i <= this.checker.maxCommitted; i++) {
      const term = this.checker.committedTermAt(i);
      if (term === undefined) continue;
      const kept = NODE_IDS.filter((id) => holds(id, i, term)).length;
      if (kept < need) return this.checker.violate(`committed entry (${i}, ${term}) survives on only ${kept} of ${NODE_IDS.length} logs`);
    }
  }

  /**
   * Under async flush a power loss keeps only the synced log, and the node has acknowledged
   * entries it did not sync. Raft promises nothing when such a loss destroys a copy a commit
   * counts (or may still count, through an acknowledgement on the wire), so only a power loss
   * that destroys no such copy (a "minority" loss in data terms) is injected: any committed
   * entry lost after it is the nodes' fault. Nor one that would leave a majority of the logs
   * under recovery (a storage that reports mayHaveLostWrites): such nodes refuse their votes
   * until a leader confirmed their logs, so with three voters the group waits, by design, for
   * an operator (docs/raft.md, "Recovering after a power loss"); the liveness phase could not
   * end, and the safety phase would only watch a group without a leader.
   */
  private powerLossAllowed(victim: NodeId): boolean {
    if (!this.plan.powerLoss) return false;
    if (this.plan.flush === 'sync') return true;
    const { holds, durablyHolds, suspect } = this.storage;
    const log = this.replicas.find((r) => r.id === victim)?.storage;
    if (holds === undefined || durablyHolds === undefined || log === undefined) return false;
    const need = Math.floor(NODE_IDS.length / 2) + 1;
    if (suspect !== undefined && 1 + NODE_IDS.filter((id) => id !== victim && suspect(id)).length >= need) return false;
    // An unsynced entry held by exactly one other node may become (or be) committed by this
    // node's acknowledgement; held by every other node or by none, this copy counts for nothing.
    for (let i = log.firstIndex(); i <= log.lastIndex(); i++) {
      const term = log.term(i)!;
      if (durablyHolds(victim, i, term)) continue;
      const others = NODE_IDS.filter((id) => id !== victim && holds(id, i, term)).length;
      if (others > 0 && others < NODE_IDS.length - 1) return false;
    }
    for (let i = 1; i <= this.checker.maxCommitted; i++) {
      const term = this.checker.committedTermAt(i);
      if (term === undefined) continue;
      let kept = durablyHolds(victim, i, term) ? 1 : 0;
      for (const id of NODE_IDS) if (id !== victim && holds(id, i, term)) kept++;
      if (kept < need) return false;
    }
    return true;
  }

  private crashKind(victim: NodeId): CrashKind {
    return this.rng.chance(0.5) && this.powerLossAllowed(victim) ? 'power-loss' : 'process-kill';
  }

  // ---- faults and clients ----

  private leader(): Replica | undefined {
    let best: Replica | undefined;
    for (const r of this.replicas) {
      const s = r.node?.roleState();
      if (s?.role === 'leader' && (best === undefined || s.term > best.node!.roleState().term)) best = r;
    }
    return best;
  }

  private faults(): void {
    const { rng, plan, wire } = this;
    if (rng.chance(plan.partitionRate)) {
      wire.healAll();
      const kind = rng.int(0, 2);
      if (kind === 1) {
        const side = NODE_IDS.filter(() => rng.chance(0.5));
        wire.partition(side, NODE_IDS);
        this.say(`partition [${side.join(',')}] | rest`);
      } else if (kind === 2) {
        const a = rng.pick(NODE_IDS);
        const b = rng.pick(NODE_IDS.filter((x) => x !== a));
        wire.cutLink(a, b);
        this.say(`one-way cut ${a} -> ${b}`);
      } else this.say('partitions healed');
    }
    const leader = this.leader();
    if (leader !== undefined && rng.chance(plan.isolateLeaderRate)) {
      wire.healAll();
      wire.partition([leader.id], NODE_IDS);
      this.say(`leader ${leader.id} isolated`);
    }
    if (plan.blackoutRate > 0 && plan.flush === 'sync' && rng.chance(plan.blackoutRate)) {
      this.say('blackout: every running node loses power');
      for (const r of this.replicas) if (r.node !== undefined) this.crash(r, 'power-loss');
    }
    const up = this.replicas.filter((r) => r.node !== undefined);
    if (up.length > 0 && rng.chance(plan.crashRate)) {
      const victim = rng.pick(up);
      this.crash(victim, this.crashKind(victim.id));
    }
    const l = this.leader();
    if (l !== undefined && rng.chance(plan.leaderCrashRate)) this.crash(l, this.crashKind(l.id));
    for (const r of this.replicas) if (r.node === undefined && rng.chance(plan.restartRate)) void this.start(r);
  }

  /** A client proposes a batch to the node it believes leads (now and then to any node). */
  private propose(size: number): ClientBatch | undefined {
    const up = this.replicas.filter((r) => r.node !== undefined);
    if (up.length === 0) return undefined;
    const target = (this.rng.chance(0.9) ? this.leader() : undefined) ?? this.rng.pick(up);
    const { batch, payloads } = this.client.propose(target.id, target.incarnation, size);
    this.say(`client proposes batch ${batch.batchId} [${batch.entryIds.join(',')}] to ${target.id}`);
    target.node!.proposeBatch(payloads).then(
      (res) => {
        this.say(`batch ${batch.batchId} OK at ${res.index}..${res.lastIndex} term ${res.term}`);
        this.client.resolved(batch, res);
      },
      (err: unknown) => {
        this.say(`batch ${batch.batchId} failed: ${(err as Error).message}`);
        this.client.rejected(batch, err);
      },
    );
    return batch;
  }

  /** A read index must cover everything committed before it was asked. */
  private read(): void {
    const up = this.replicas.filter((r) => r.node !== undefined);
    if (up.length === 0) return;
    const target = this.rng.pick(up);
    const floor = this.checker.maxCommitted;
    this.stats.reads++;
    target.node!.readIndex().then(
      (index) => {
        if (index < floor) this.checker.violate(`read at ${target.id} resolved at ${index} < ${floor}, committed when it was asked`);
      },
      (err: unknown) => {
        if (typeof (err as { code?: unknown }).code !== 'string') this.checker.violate(`read failed with an uncoded error: ${String(err)}`);
      },
    );
  }

  private transfer(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const to = this.rng.pick(NODE_IDS.filter((x) => x !== leader.id));
    this.say(`${leader.id} asked to hand leadership to ${to}`);
    // Failing (target down, timeout) is a normal outcome; only an uncoded error is a bug.
    leader.node!.transferLeadership(to).catch((err: unknown) => {
      if (typeof (err as { code?: unknown }).code !== 'string') this.checker.violate(`transfer failed with an uncoded error: ${String(err)}`);
    });
  }

  // ---- liveness ----

  private async liveness(): Promise<void> {
    this.wire.healAll();
    this.wire.faults = { dropRate: 0, duplicateRate: 0, maxDelayMs: Math.min(this.plan.maxDelayMs, 3) };
    for (const r of this.replicas) if (r.node === undefined) await this.start(r);
    this.say('healed: no more faults');
    let probe: ClientBatch | undefined;
    for (let p = 0; p < LIVENESS_PERIODS_MAX && this.ok(); p++) {
      // Probes keep the log growing until it passes every batch still waiting somewhere (an
      // isolated old leader may have appended far past the new leader's log); one at a time
      // while the leader holds it, so they never outrun replication.
      const probeWaits = probe !== undefined && probe.outcome.kind === 'pending' && probe.node === this.leader()?.id;
      if (!probeWaits && !this.converged()) probe = this.propose(this.plan.maxBatch);
      await this.period();
      if (this.converged()) {
        this.say(`live after ${p} periods: committed ${this.checker.maxCommitted}`);
        return this.finalChecks();
      }
    }
    if (!this.ok()) return;
    const st = this.replicas.map((r) => r.node?.status());
    const undecided = this.client.undecided((node, inc) => this.isLive(node, inc));
    const shown = undecided.slice(0, 5).map((b) => `${b.batchId}@${b.node}`).join(',') + (undecided.length > 5 ? `,… (${undecided.length})` : '');
    this.checker.violate(
      `liveness: not converged ${LIVENESS_PERIODS_MAX * PERIOD_MS} ms after healing: ` +
        st.map((s) => (s ? `${s.id}:${s.role}@${s.term} commit=${s.commit} last=${s.lastIndex}` : 'down')).join(' ') +
        ` applied=${this.replicas.map((r) => r.node?.applied).join(',')} undecided=[${shown}]`,
    );
  }

  private isLive(node: NodeId, incarnation: number): boolean {
    const r = this.replicas.find((x) => x.id === node)!;
    return r.node !== undefined && r.incarnation === incarnation;
  }

  /** One leader; every replica holds and applied the same log; no live node owes an answer. */
  private converged(): boolean {
    const leader = this.leader();
    if (leader === undefined) return false;
    const last = leader.storage!.lastIndex();
    const leaderTerm = leader.storage!.term(last);
    if (leaderTerm !== leader.node!.roleState().term) return false;
    for (const r of this.replicas) {
      if (r.node === undefined || r.node.applied !== last || r.storage!.lastIndex() !== last) return false;
    }
    return this.client.undecided((node, inc) => this.isLive(node, inc)).length === 0;
  }

  private finalChecks(): void {
    const logs = this.replicas.map((r) => r.storage!);
    this.checker.checkLogsMatch(NODE_IDS, logs);
    this.checker.checkNoCommittedLost(logs);
    this.client.checkAcknowledgedKept(this.replicas.map((r) => {
      const s = r.storage!;
      return { id: r.id, term: (i: number) => s.term(i), logStart: () => s.logStart() };
    }));
  }
}

/** The plan's storage: the real mmap log over simulated files unless it asks for `memory`. */
export function storageFactoryFor(plan: NodeSimPlan): SimStorageFactoryMaker {
  return plan.storage === 'memory' ? memoryStorageFactory : mmapStorageFactory;
}

export async function runNodeSchedule(seed: number, plan: NodeSimPlan = nodePlanFromSeed(seed), options: NodeSimOptions = {}): Promise<NodeSimResult> {
  const s = new NodeSchedule(seed, plan, options.verbose, options.storage ?? storageFactoryFor(plan));
  const result = await s.run();
  return { ...result, seed };
}
