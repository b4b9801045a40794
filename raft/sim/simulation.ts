// One seeded schedule of a simulated Raft cluster, in two phases (as in TigerBeetle's VOPR):
//   safety: faults (loss, duplication, delay/reordering, symmetric and one-way partitions,
//     process kills, power losses, crashes in the middle of a Ready, head deletion forcing
//     Resets, transfers, reads) while the checker watches every event;
//   liveness: faults healed and stopped, crashed nodes restarted; within a bounded number of
//     ticks a leader must commit a fresh proposal, every log must converge and every accepted
//     proposal must be decided.
// The same seed and plan replay the same run exactly.
import type { ReadState, Ready } from '../core/messages.js';
import type { MembershipChange } from '../core/membership.js';
import type { Message } from '../core/messages.js';
import type { Entry, LogStart, NodeId } from '../core/types.js';
import { SafetyChecker, simStartApp } from './checker.js';
import { planFromSeed, type FaultPlan } from './fault-plan.js';
import type { MemoryStorage } from './memory-storage.js';
import { SimNetwork } from './network.js';
import { Prng } from './prng.js';
import { DEFAULT_CORE_OPTIONS, SimNode, type CoreOptions, type CrashKind, type SimNodeObserver } from './sim-node.js';

export { planFromSeed, type FaultPlan } from './fault-plan.js';

export interface SimStats {
  ticks: number;
  leaders: number;
  committed: number;
  proposals: number;
  messages: number;
  crashes: number;
  reads: number;
  resets: number;
  configChanges: number;
}

export interface SimResult {
  seed: number;
  plan: FaultPlan;
  violations: string[];
  stats: SimStats;
}

const STEPS_PER_TICK = 3;
/** Liveness bound after healing (plus catch-up time): generous against unlucky randomized timeouts, still finite. */
export const LIVENESS_TICKS_MAX = 40 * DEFAULT_CORE_OPTIONS.electionTicks;
const ASYNC_FLUSH_EVERY_TICKS = 5;
const RETENTION_EVERY_TICKS = 5;
/** Per tick, the chance that a crashed node restarts during the safety phase. */
const RESTART_RATE = 0.1;
/** At most this many members (voters and learners) at once; a removal keeps at least 3 voters. */
const MAX_MEMBERS = 7;
const MIN_VOTERS = 3;
/** Small, so the simulation also sees promotions refused for lag. */
const SIM_MAX_PROMOTE_LAG_ENTRIES = 40;
/** Payloads are 8-byte proposal ids. */
const PAYLOAD_BYTES = 8;

function idBytes(n: number): Uint8Array {
  const b = new Uint8Array(PAYLOAD_BYTES);
  new DataView(b.buffer).setFloat64(0, n);
  return b;
}

function idOf(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(0);
}

interface Proposal {
  index: number;
  term: number;
  id: number;
}

class Schedule implements SimNodeObserver {
  private readonly rng: Prng;
  private readonly net: SimNetwork;
  readonly checker = new SafetyChecker(simStartApp);
  /** Every node ever started, including learners, removed nodes and nodes whose addition failed. */
  private readonly ids: NodeId[];
  private readonly nodes: SimNode[];
  private readonly byId: Map<NodeId, SimNode>;
  private readonly core: CoreOptions;
  private now = 0;
  private believedLeader = '';
  readonly stats: SimStats = { ticks: 0, leaders: 0, committed: 0, proposals: 0, messages: 0, crashes: 0, reads: 0, resets: 0, configChanges: 0 };
  private readonly pending: Proposal[] = [];
  private nextPayloadId = 1;
  private nextReadId = 1;
  private healed = false;
  private crashedMidReady = false;

  constructor(
    seed: number,
    private readonly plan: FaultPlan,
    private readonly verbose: ((line: string) => void) | undefined,
  ) {
    this.rng = new Prng(seed);
    this.net = new SimNetwork(this.rng.fork(), { dropRate: plan.dropRate, duplicateRate: plan.duplicateRate, maxDelaySteps: plan.maxDelaySteps });
    this.ids = Array.from({ length: plan.nodes }, (_, i) => `n${i}`);
    this.core = {
      ...DEFAULT_CORE_OPTIONS, preVote: plan.preVote, checkQuorum: plan.checkQuorum, maxInflightMsgs: plan.maxInflightMsgs, maxAppBytes: plan.maxAppBytes,
      maxPromoteLagEntries: SIM_MAX_PROMOTE_LAG_ENTRIES, unsafeTestConcurrentConfigChanges: plan.unsafeConcurrentChanges === true,
    };
    this.nodes = [];
    this.byId = new Map();
    const bootstrap = this.ids.slice();
    for (const id of bootstrap) this.addNode(id, bootstrap);
    this.checker.bootstrap(bootstrap);
    // Under power loss only synced entries count; otherwise mapped memory survives.
    this.checker.survives = (id, index, term) => {
      const n = this.byId.get(id);
      return n !== undefined && (plan.powerLoss ? n.storage.durablyHolds(index, term) : n.storage.holds(index, term));
    };
  }

  /** Starts a node (a bootstrap member, or one an operator starts before adding it as a learner). */
  private addNode(id: NodeId, bootstrapVoters: readonly NodeId[]): SimNode {
    const n = new SimNode(id, bootstrapVoters, this.plan.flush, this.core, this.rng.fork(), this, (m) => this.net.send(m, this.now));
    if (!this.ids.includes(id)) this.ids.push(id);
    this.nodes.push(n);
    this.byId.set(id, n);
    this.checker.onStart(id, 0);
    n.crashPoint = (phase) => this.midReadyCrash(n, phase);
    return n;
  }

  /** The logs of the voters in force (what "no committed entry lost" is judged on). */
  private voterLogs(): MemoryStorage[] {
    return this.checker.config.voters.map((id) => this.byId.get(id)!.storage);
  }

  // ---- observer (called by the nodes' drivers) ----

  onAppend(node: NodeId, entries: readonly Entry[], prevTerm: number): void {
    this.checker.onAppend(node, entries, prevTerm);
  }

  onApply(node: NodeId, entry: Entry): void {
    this.checker.onApply(node, entry);
  }

  onReset(node: NodeId, start: LogStart): void {
    this.stats.resets++;
    this.say(`${node} reset to (${start.index}, ${start.term})`);
    this.checker.onReset(node, start);
  }

  onReady(node: NodeId, rd: Ready, storage: MemoryStorage): void {
    if (rd.softState?.role === 'leader') {
      this.stats.leaders++;
      this.believedLeader = node;
      this.say(`${node} leads term ${rd.softState.term} (last index ${storage.lastIndex()})`);
    }
    this.checker.onReady(node, rd, storage);
  }

  onReadState(node: NodeId, rs: ReadState): void {
    this.checker.onReadState(node, rs);
  }

  onStepError(node: NodeId, m: Message, err: { code: string; detail: string }): void {
    // Stale terms are normal traffic, and so are answers from a node no longer a member (or not
    // yet one, for a lagging node); anything else from a correct peer is a bug.
    if (err.code === 'unknown-peer' && (this.plan.membershipRate ?? 0) > 0 && this.ids.includes(m.from)) return;
    if (err.code !== 'stale-term') this.checker.violate(`step error at ${node}: ${err.code} ${err.detail}`);
  }

  // ---- the run ----

  run(): SimResult {
    for (let t = 0; t < this.plan.faultTicks && this.ok(); t++) {
      this.faults();
      this.maybeRead();
      this.tick(t);
    }
    const live = this.ok() ? this.liveness() : true;
    if (this.ok()) this.finalChecks(live);
    this.stats.committed = this.checker.maxCommitted;
    this.stats.configChanges = this.checker.configChanges;
    this.stats.messages = this.net.sent;
    return { seed: 0, plan: this.plan, violations: this.checker.violations, stats: this.stats };
  }

  private ok(): boolean {
    return this.checker.violations.length === 0;
  }

  private say(line: string): void {
    this.verbose?.(`[t${Math.floor(this.now / STEPS_PER_TICK)}] ${line}`);
  }

  /** One "event-loop turn" per node: every due message, maybe a tick, then one Ready drain. */
  private step(tickNow: boolean): void {
    this.now++;
    this.checker.now = this.now;
    for (let m = this.net.nextDue(this.now); m !== undefined; m = this.net.nextDue(this.now)) this.byId.get(m.to)?.deliver(m);
    if (tickNow) for (const n of this.nodes) n.tick();
    for (const n of this.nodes) n.processReady();
    if (this.crashedMidReady) {
      this.crashedMidReady = false;
      this.checker.checkNoCommittedLost(this.voterLogs());
    }
  }

  private tick(t: number): void {
    this.stats.ticks++;
    for (let s = 0; s < STEPS_PER_TICK; s++) {
      if (!this.healed && this.rng.chance(this.plan.proposalRate)) this.propose(this.rng.int(1, 3));
      this.step(s === 0);
    }
    if (t % ASYNC_FLUSH_EVERY_TICKS === 0) for (const n of this.nodes) n.flushTick();
    if (t % RETENTION_EVERY_TICKS === 0) this.retention();
  }

  /** A client: proposes to the node it believes leads; returns the accepted proposals. */
  private propose(count: number): Proposal[] {
    const believed = this.byId.get(this.believedLeader);
    const target = believed?.raft !== undefined ? believed : this.rng.pick(this.nodes);
    if (target.raft === undefined) return [];
    const payloads: Uint8Array[] = [];
    const firstId = this.nextPayloadId;
    for (let i = 0; i < count; i++) payloads.push(idBytes(this.nextPayloadId++));
    const res = target.raft.propose(payloads);
    if (!res.ok) {
      this.believedLeader = res.leaderHint;
      return [];
    }
    this.stats.proposals += count;
    const accepted: Proposal[] = [];
    for (let i = 0; i < count; i++) accepted.push({ index: res.firstIndex + i, term: res.term, id: firstId + i });
    this.pending.push(...accepted);
    return accepted;
  }

  private crashKind(): CrashKind {
    return this.plan.powerLoss && this.rng.chance(0.5) ? 'power-loss' : 'process-kill';
  }

  private crash(n: SimNode): void {
    const kind = this.crashKind();
    n.crash(kind, this.rng.int(0, 3));
    this.stats.crashes++;
    this.say(`${n.id} crashes (${kind}); its log now ends at ${n.storage.lastIndex()}`);
    this.checker.checkNoCommittedLost(this.voterLogs());
  }

  private midReadyCrash(n: SimNode, phase: 'before-send' | 'after-send'): { kind: CrashKind; extraWrittenBack: number } | undefined {
    if (this.healed || this.plan.midReadyCrashRate === 0 || !this.rng.chance(this.plan.midReadyCrashRate / 2)) return undefined;
    const kind = this.crashKind();
    this.stats.crashes++;
    this.crashedMidReady = true;
    this.say(`${n.id} crashes mid-Ready ${phase} (${kind}), before persisting`);
    return { kind, extraWrittenBack: this.rng.int(0, 3) };
  }

  private restart(n: SimNode): void {
    this.checker.onStart(n.id, n.storage.logStart().index);
    n.start();
    this.say(`${n.id} restarts at term ${n.storage.hardState().term} with log ${n.storage.firstIndex()}..${n.storage.lastIndex()}`);
  }

  private faults(): void {
    const { rng, plan, ids, net } = this;
    if (rng.chance(plan.partitionRate)) {
      net.healAll();
      const kind = rng.int(0, 2);
      if (kind === 1) {
        const side = ids.filter(() => rng.chance(0.5));
        net.partition(side, ids);
        this.say(`partition [${side.join(',')}] | rest`);
      } else if (kind === 2) {
        const a = rng.pick(ids);
        const b = rng.pick(ids.filter((x) => x !== a));
        net.cutLink(a, b);
        this.say(`one-way cut ${a} -> ${b}`);
      } else this.say('partitions healed');
    }
    const up = this.nodes.filter((n) => n.isUp());
    if (up.length > 0 && rng.chance(plan.crashRate)) this.crash(rng.pick(up));
    const leader = this.byId.get(this.believedLeader);
    if (leader?.isUp() && leader.role === 'leader' && rng.chance(plan.leaderCrashRate)) this.crash(leader);
    for (const n of this.nodes) if (!n.isUp() && rng.chance(RESTART_RATE)) this.restart(n);
    const membershipRate = plan.membershipRate ?? 0;
    if (membershipRate > 0 && rng.chance(membershipRate)) this.changeMembership();
    if (rng.chance(plan.transferRate)) {
      const from = this.byId.get(this.believedLeader);
      if (from?.raft !== undefined) {
        const to = rng.pick(ids.filter((x) => x !== from.id));
        if (from.raft.transferLeadership(to).ok) this.say(`${from.id} transfers leadership to ${to}`);
      }
    }
  }

  /** An operator's change through the leader: add a fresh learner, promote one, or remove a member. */
  private changeMembership(): void {
    const leader = this.byId.get(this.believedLeader);
    const raft = leader?.raft;
    if (raft === undefined || leader!.role !== 'leader') return;
    const cfg = raft.membership();
    const members = cfg.voters.length + cfg.learners.length;
    const roll = this.rng.next();
    let change: MembershipChange;
    if (cfg.learners.length > 0 && roll < 0.4) change = { kind: 'promote', node: this.rng.pick([...cfg.learners]) };
    else if (members < MAX_MEMBERS && roll < 0.7) change = { kind: 'add-learner', node: `n${this.ids.length}` };
    else {
      const removable = cfg.voters.length > MIN_VOTERS ? [...cfg.voters, ...cfg.learners] : [...cfg.learners];
      if (removable.length === 0) return;
      change = { kind: 'remove', node: this.rng.pick(removable) };
    }
    const res = raft.proposeMembership(change);
    this.say(`${leader!.id} ${change.kind} ${change.node}: ${res.ok ? `appended at ${res.index}` : `${res.code} (${res.detail})`}`);
    // The operator starts the new node once its addition is accepted, with the voters it knows.
    if (res.ok && change.kind === 'add-learner') this.addNode(change.node, cfg.voters);
  }

  private maybeRead(): void {
    if (!this.rng.chance(this.plan.readRate)) return;
    const n = this.rng.pick(this.nodes);
    if (n.raft === undefined) return;
    const ctx = this.nextReadId++;
    if (n.raft.readIndex(idBytes(ctx)).ok) {
      this.stats.reads++;
      this.checker.onReadAsked(ctx);
    }
  }

  /** Deletes applied entries from each log's head, keeping `retainEntries` (forces Resets). */
  private retention(): void {
    const keep = this.plan.retainEntries;
    if (keep === 0) return;
    for (const n of this.nodes) {
      if (n.raft !== undefined && n.applied - keep > n.storage.firstIndex()) n.storage.deleteHead(n.applied - keep, (first) => simStartApp(first.index));
    }
  }

  /** Heals everything, then waits for a committed fresh proposal and converged logs. */
  private liveness(): boolean {
    this.healed = true;
    this.net.healAll();
    this.net.faults = { dropRate: 0, duplicateRate: 0, maxDelaySteps: Math.min(this.plan.maxDelaySteps, 3) };
    // An operator stops the nodes whose removal committed; everything else runs again.
    for (const n of this.nodes) {
      if (this.checker.removed.has(n.id)) {
        if (n.isUp()) n.crash('process-kill', 0);
      } else if (!n.isUp()) this.restart(n);
    }
    this.say('healed: no more faults');
    // A lagging follower catches up at most (inflight window × entries per App) per round trip
    // (at most 2 ticks once healed), so the bound grows with the backlog flow control allows.
    const backlog = Math.max(...this.nodes.map((n) => n.storage.lastIndex()));
    const entriesPerRoundTrip = this.plan.maxInflightMsgs * Math.max(1, Math.floor(this.plan.maxAppBytes / PAYLOAD_BYTES));
    const bound = LIVENESS_TICKS_MAX + 3 * Math.ceil(backlog / entriesPerRoundTrip);
    let probe: Proposal | undefined;
    for (let t = 0; t < bound && this.ok(); t++) {
      // Re-propose while the probe is not committed: an accepted one may still be superseded.
      if (t % 5 === 0 && (probe === undefined || this.checker.committedTermAt(probe.index) !== probe.term)) {
        probe = this.propose(1)[0] ?? probe;
      }
      this.maybeRead();
      this.tick(this.plan.faultTicks + t);
      if (probe !== undefined && this.converged(probe)) {
        this.say(`live after ${t} ticks: committed ${this.checker.maxCommitted}`);
        return true;
      }
    }
    if (this.ok()) {
      const st = this.nodes.map((n) => n.raft?.status());
      this.checker.violate(
        `liveness: not converged ${bound} ticks after healing: ` +
          st.map((s) => (s ? `${s.id}:${s.role}@${s.term} commit=${s.commit} last=${s.lastIndex}` : 'down')).join(' ') +
          ` progress=${JSON.stringify(st.find((s) => s?.role === 'leader')?.progress ?? {})}`,
      );
    }
    return false;
  }

  private converged(probe: Proposal): boolean {
    if (this.checker.committedTermAt(probe.index) !== probe.term) return false;
    const leader = this.nodes.find((n) => n.role === 'leader');
    if (leader?.raft === undefined) return false;
    const last = leader.storage.lastIndex();
    const cfg = leader.raft.membership();
    if (cfg.pending) return false;
    // Every member (voter or learner) has caught up; other nodes are not in the group.
    for (const id of [...cfg.voters, ...cfg.learners]) {
      const n = this.byId.get(id)!;
      if (n.raft === undefined || n.applied !== last || n.storage.lastIndex() !== last) return false;
    }
    // Every index up to `last` is now applied everywhere, so every accepted proposal is decided:
    // committed, superseded by another entry, or gone from every log (index above `last`).
    return true;
  }

  private finalChecks(live: boolean): void {
    const c = this.checker;
    for (const q of this.pending) {
      const term = c.committedTermAt(q.index);
      if (term === undefined) {
        if (live && q.index <= c.maxCommitted) c.violate(`liveness: accepted proposal ${q.id} at ${q.index} undecided`);
      } else if (term === q.term) {
        const id = idOf(c.committedEntry(q.index)!.payload);
        if (id !== q.id) c.violate(`proposal ${q.id} at (${q.index}, ${q.term}) committed as payload ${id}`);
      }
    }
    c.checkLogsMatch(this.ids, this.nodes.map((n) => n.storage));
    c.checkNoCommittedLost(this.voterLogs());
  }
}

export function runSchedule(seed: number, plan: FaultPlan = planFromSeed(seed), verbose?: (line: string) => void): SimResult {
  const result = new Schedule(seed, plan, verbose).run();
  return { ...result, seed };
}
