// One jepsen-like run, start to verdict: clean up after crashed runs, start a NameServer and one
// or more Raft broker groups behind the proxy mesh (on a random free port block, retried on a new block
// if a port is taken), create the topic, run the queue (or transactions) workload while the nemesis mix injects
// faults, heal, let the clients go on briefly, stop them, wait for a ready leader and for every
// replica to commit and dispatch the same index, drain every queue, record the replicas'
// digests, stop every process by PID, and check the history. The whole run is bounded by a hard
// deadline; whatever happens, every process it started is killed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino, type Logger } from 'pino';
import { Admin } from '../../src/client/index.js';
import { checkRun, HISTORY_FILE, type CheckRunOutcome } from '../check-run.js';
import { ClusterDb } from '../db/cluster.js';
import { killStaleProcesses, PID_FILE_NAME } from '../../raft/tools/process/pid-file.js';
import { findFreeBlock } from '../../raft/tools/free-ports.js';
import { clusterPortPlan, MAX_PLANNED_NODES, portCount } from '../../src/devkit/port-plan.js';
import { overGroups } from '../nemesis/group-nemeses.js';
import { abuseContext, groupScopes, runQueueKeyOf } from './run-groups.js';
import { runSchedule } from './run-schedule.js';
import { HistoryWriter } from '../history/writer.js';
import type { MixSummary } from '../nemesis/mix.js';
import type { Nemesis, NemesisContext } from '../nemesis/nemesis.js';
import { nemesisNames, parseNemesisList } from '../nemesis/registry.js';
import { SeededRandom } from '../net/seeded-random.js';
import { drainQueues, type DrainSummary } from '../workload/drain.js';
import { QueueConsumers, type ConsumerStats } from '../workload/queue-consumers.js';
import { QueueProducers, type ProducerStats } from '../workload/queue-producers.js';
import { ClusterProbe } from './cluster-probe.js';
import { GuardedNodes } from './guarded-nodes.js';
import { assertDistBuilt, defaultDistDir, LAZY_FS_ENV, LYING_FSYNC, launchNamesrv, launchNode, revertToDurable, type LaunchSettings } from './launchers.js';
import { DRAIN_TIMEOUT_MS, HEAL_TIMEOUT_MS, SETUP_TIMEOUT_MS, type RunOptions } from './run-options.js';
import { killStaleRuns, writeHarnessFile } from './stale-runs.js';
import { membershipControl } from './membership-control.js';
import { RunError } from './run-errors.js';

export const TOPIC = 'jepsen';
export const GROUP = 'broker-a';
export const CONSUMER_GROUP = 'jepsen-group';
export const RUN_SUMMARY_FILE = 'run-summary.json';
/**
 * Broker settings of a `transactions` run: a half message is checked 1 s after it is stored (or
 * last checked), runs every 0.5 s, and checks are practically never exhausted (a long fault must
 * not turn a commit into a discard the checker would count as lost).
 */
const TX_BROKER_CONF: Record<string, string> = { transactionTimeOut: '1000', transactionCheckInterval: '500', transactionCheckMax: '1000' };
/** After the last send: several check rounds (timeout + interval) before the drain. */
const TX_SETTLE_MS = 5_000;
const SETUP_ATTEMPTS = 4;
/** Each node's own file system in disk-full runs: room for many segments, small enough to fill fast. */
const NODE_FS_BYTES = 256 * 1024 * 1024;
const BODY_UNWIND_MS = 15_000;

export interface RunSummary {
  seed: number;
  basePort?: number;
  options: Omit<RunOptions, 'progress'>;
  staleKilled: number;
  mix?: MixSummary;
  producers?: ProducerStats;
  consumers?: ConsumerStats;
  drain?: DrainSummary;
  convergedIndex?: number;
  /** Several groups: each group's common index. */
  convergedIndexes?: Record<string, number>;
  /** Problems of the harness itself (not anomalies): a run with any is not a valid pass. */
  errors: string[];
  /**
   * Processes of the cluster that exited although no nemesis killed them: crashes of the system
   * under test. A run with any is invalid (exit 1), whatever the history says.
   */
  crashes: { name: string; pid: number; code: number | null; signal: string | null; logTail: string }[];
  durationMs: number;
}

export interface RunOutcome {
  runDir: string;
  /** 0 valid, 1 an anomaly found, 2 the run itself failed (setup, deadline, unreadable history). */
  exitCode: 0 | 1 | 2;
  check: CheckRunOutcome | undefined;
  summary: RunSummary;
}

export async function runTest(options: RunOptions): Promise<RunOutcome> {
  const started = Date.now();
  const runDir = resolve(options.out);
  const say = options.progress ?? (() => {});
  if (existsSync(join(runDir, HISTORY_FILE))) throw new RunError('ERR_JEPSEN_RUN_DIR_USED', `${runDir} already holds a run (history.jsonl); choose another --out`);
  // Fail on a bad nemesis name before starting anything.
  const nemeses = parseNemesisList(options.nemesis);
  const distDir = defaultDistDir();
  assertDistBuilt();
  mkdirSync(join(runDir, 'logs'), { recursive: true });
  const stale = killStaleRuns(dirname(runDir));
  writeHarnessFile(runDir);
  const { progress: _progress, ...recordedOptions } = options;
  const summary: RunSummary = { seed: options.seed, options: recordedOptions, staleKilled: stale.filter((s) => s.killed).length, errors: [], crashes: [], durationMs: 0 };
  if (summary.staleKilled > 0) say(`killed ${summary.staleKilled} process(es) left by crashed runs`);

  const logger = pino({ level: options.logLevel }, pino.destination({ dest: join(runDir, 'logs', 'clients.log'), sync: false, mkdir: true }));
  const run = new Run(options, runDir, distDir, summary, logger, say);
  const hardDeadlineMs = (options.hardDeadlineS ?? options.timeS + 240) * 1000;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RunError('ERR_JEPSEN_RUN_DEADLINE', `the run passed its hard deadline of ${hardDeadlineMs / 1000} s`)), hardDeadlineMs);
  });
  const body = run.execute(nemeses);
  // After a deadline the body may still be unwinding against a torn-down cluster; its errors no longer matter.
  body.catch(() => {});
  try {
    await Promise.race([body, deadline]);
  } catch (err) {
    summary.errors.push(`${(err as { code?: string }).code ?? 'ERR_JEPSEN_RUN'}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
    await run.cleanup();
    // Let a body cut short by the deadline unwind (bounded) before the run folder is read.
    await Promise.race([body.catch(() => {}), sleep(BODY_UNWIND_MS, undefined, { ref: false })]);
  }

  let check: CheckRunOutcome | undefined;
  if (existsSync(join(runDir, HISTORY_FILE))) {
    try {
      check = await checkRun(runDir);
    } catch (err) {
      summary.errors.push(`check: ${(err as Error).message}`);
    }
  }
  summary.durationMs = Date.now() - started;
  writeFileSync(join(runDir, RUN_SUMMARY_FILE), JSON.stringify(summary, null, 2) + '\n');
  await new Promise<void>((r) => logger.flush(() => r()));
  const exitCode = check === undefined || summary.errors.length > 0 ? 2 : check.results.valid && summary.crashes.length === 0 ? 0 : 1;
  return { runDir, exitCode, check, summary };
}

/** The state of one run, so cleanup can undo whatever part of it happened. */
class Run {
  private db: ClusterDb | undefined;
  /** One per Raft group, in the db's group order. */
  private probes: ClusterProbe[] = [];
  private admin: Admin | undefined;
  private history: HistoryWriter | undefined;
  private nodes: GuardedNodes | undefined;
  private producers: QueueProducers | undefined;
  private consumers: QueueConsumers | undefined;
  private readonly abort = new AbortController();
  private cleaned = false;

  constructor(
    private readonly o: RunOptions,
    private readonly runDir: string,
    private readonly distDir: string,
    private readonly summary: RunSummary,
    private readonly logger: Logger,
    private readonly say: (line: string) => void,
  ) {}

  async execute(nemeses: ReturnType<typeof parseNemesisList>): Promise<void> {
    const db = await this.setupCluster();
    const namesrvAddr = db.cluster().namesrv.addr;
    // The nodes of each group now: the membership nemesis adds and retires nodes as the run goes.
    const several = db.groups.length > 1;
    this.probes = db.groups.map(
      (group) => new ClusterProbe(group, () => db.groupNodeIds(group).map((id) => ({ id, brokerAddr: `127.0.0.1:${db.node(id).brokerPort}` })), (id) => db.status(id) === 'running', { namesrvAddr, qualifyQueues: several, frontDoors: this.o.frontDoors === true, logDir: join(this.runDir, 'logs') }),
    );
    const probe = this.probes[0]!;
    const queueKeyOf = runQueueKeyOf(db, this.o.frontDoors === true);
    const leaders = await this.waitForReadyLeaders(SETUP_TIMEOUT_MS);
    this.say(`cluster up on base port ${this.summary.basePort}, ${several ? `groups ${db.groups.join(', ')}, leaders ${leaders.join(', ')}` : `leader ${leaders[0]}`}`);
    await this.createTopic(namesrvAddr);
    this.throwIfAborted();

    const history = HistoryWriter.open(join(this.runDir, HISTORY_FILE));
    this.history = history;
    this.producers = new QueueProducers(
      {
        namesrvAddr,
        topic: TOPIC,
        count: this.o.producers,
        ratePerSec: this.o.ratePerSec,
        batch: this.o.batch,
        sendTimeoutMs: this.o.sendTimeoutMs,
        clientRetries: this.o.clientRetries,
        routeRefreshMs: 1000,
        logger: this.logger,
        dialAddress: (addr) => db.clientDialAddress(addr),
        transactions: this.o.workload === 'transactions',
        queueKeyOf,
      },
      history,
    );
    this.consumers = new QueueConsumers(
      {
        namesrvAddr,
        topic: TOPIC,
        group: CONSUMER_GROUP,
        count: this.o.consumers,
        rebalanceMs: this.o.rebalanceS * 1000,
        pullBatch: 32,
        suspendMs: 100,
        requestTimeoutMs: 2000,
        routeRefreshMs: 1000,
        logger: this.logger,
        dialAddress: (addr) => db.clientDialAddress(addr),
        queueKeyOf,
      },
      history,
    );
    await this.producers.start();
    await this.consumers.start();
    this.say(`workload running for ${this.o.timeS} s at ${this.o.ratePerSec} sends/s; nemeses: ${nemeses.map((n) => n.fault).join(', ') || 'none'}`);

    const transfer = (g: number, name: string) => async (id: string): Promise<void> => {
      // With front doors a group has no broker name of its own: ask its leader directly.
      if (this.o.frontDoors === true) await this.probes[g]!.transferLeader(id);
      else await this.admin?.transferLeader(name, id);
    };
    const ctx: NemesisContext = {
      mesh: db.mesh,
      nodes: this.nodes ?? db,
      leaderOf: () => probe.leaderOf(),
      history,
      rng: new SeededRandom(this.o.seed),
      flush: this.o.flush,
      abuse: abuseContext(db, namesrvAddr, this.o.abuseRssBoundMiB, (finding) => this.summary.errors.push(`abuse: ${finding}`)),
      deleteExpired: (ids) => this.deleteExpired(db, ids),
      transferLeader: transfer(0, db.groups[0]!),
      membership: membershipControl(db, probe, GROUP, () => this.admin, () => this.abort.signal.aborted),
    };
    if (several) {
      nemeses = overGroups(() => parseNemesisList(this.o.nemesis), groupScopes(db, ctx, this.probes, transfer));
    }
    if (nemeses.length > 0) this.summary.mix = await this.runNemeses(ctx, nemeses);
    else await sleep(this.o.timeS * 1000);
    this.say(`nemesis phase over (${this.summary.mix?.faults.filter((f) => f.started).length ?? 0} faults); healed, recovering for ${this.o.recoveryS} s`);
    this.throwIfAborted();
    await sleep(this.o.recoveryS * 1000);
    this.throwIfAborted();
    // Transaction producers stay up (no new sends) to answer the checks of their undecided
    // transactions until after the drain: one gone would leave them undecided.
    const producers = this.producers;
    await producers.pause();
    await this.consumers.stop();
    this.summary.consumers = this.consumers.stats;
    this.consumers = undefined;
    if (this.o.workload === 'transactions') {
      this.say(`waiting ${TX_SETTLE_MS} ms for the checks of undecided transactions`);
      await sleep(TX_SETTLE_MS);
    } else {
      await producers.stop();
    }
    this.summary.producers = producers.stats;

    await this.waitForReadyLeaders(HEAL_TIMEOUT_MS);
    for (const p of this.probes) await p.waitForConvergence(HEAL_TIMEOUT_MS);
    this.throwIfAborted();
    this.say('replicas converged; draining every queue');
    this.summary.drain = await drainQueues(
      { namesrvAddr, topic: TOPIC, pullBatch: 64, requestTimeoutMs: 3000, deadlineMs: Date.now() + DRAIN_TIMEOUT_MS, signal: this.abort.signal, logger: this.logger, queueKeyOf },
      history,
    );
    this.throwIfAborted();
    if (this.summary.drain.incomplete.length > 0) this.summary.errors.push(`drain incomplete: ${this.summary.drain.incomplete.join(', ')}`);
    await producers.stop();
    this.producers = undefined;
    await this.recordFinalState(history);
  }

  /** A ready leader routed by the NameServer in every group (the kit's one wait); their ids. */
  private async waitForReadyLeaders(timeoutMs: number): Promise<string[]> {
    return Promise.all(this.probes.map((p) => p.waitForReadyLeader(timeoutMs)));
  }

  /** Retention now on each of these nodes, through the admin SDK (what an operator would run). */
  private async deleteExpired(db: ClusterDb, ids: readonly string[]): Promise<Record<string, unknown>> {
    const admin = this.admin;
    assert(admin !== undefined, 'the admin client is started before any nemesis runs');
    const out: Record<string, unknown> = {};
    for (const id of ids) {
      try {
        const r = await admin.deleteExpiredCommitLogAt(`127.0.0.1:${db.node(id).brokerPort}`);
        out[id] = { deletedSegments: r.deletedSegments, firstIndex: r.firstIndex, stoppedBy: r.stoppedBy };
      } catch (err) {
        out[id] = { error: (err as Error).message };
      }
    }
    return out;
  }

  /** After a hard deadline the cleanup owns the run; the body must not go on using the cluster. */
  private throwIfAborted(): void {
    if (this.abort.signal.aborted) throw new RunError('ERR_JEPSEN_RUN_STOPPED', 'the run was stopped');
  }

  /** The nemesis phase (run-schedule.ts); always ends healed. */
  private async runNemeses(ctx: NemesisContext, nemeses: Nemesis[]): Promise<MixSummary> {
    const mix = await runSchedule(ctx, nemeses, this.o, this.abort.signal);
    if (mix.heal.errors.length > 0) this.summary.errors.push(...mix.heal.errors.map((e) => `heal: ${e}`));
    return mix;
  }

  /** Per group, waits for one index on every replica and records each replica's digest there. */
  private async recordFinalState(history: HistoryWriter): Promise<void> {
    const replicas: Awaited<ReturnType<ClusterProbe['replicaStates']>> = [];
    const converged: Record<string, number> = {};
    for (const probe of this.probes) {
      let index: number;
      try {
        index = await probe.waitForConvergence(HEAL_TIMEOUT_MS);
      } catch (err) {
        // Still record what each replica has, hashed at the lowest commit index, so the log
        // prefixes are compared; the summary says the replicas never agreed on an index.
        this.summary.errors.push(this.probes.length > 1 ? `${probe.group}: ${(err as Error).message}` : (err as Error).message);
        const commits = [...(await probe.allStatus()).values()].map((s) => s.commitIndex);
        if (commits.length === 0) continue;
        index = Math.min(...commits);
      }
      converged[probe.group] = index;
      replicas.push(...(await probe.replicaStates(index)));
    }
    const indexes = Object.values(converged);
    if (indexes.length === 0) return;
    // One group: its index, as before; several: per group.
    if (this.probes.length === 1) this.summary.convergedIndex = indexes[0]!;
    else this.summary.convergedIndexes = converged;
    history.finalState(replicas);
  }

  private async setupCluster(): Promise<ClusterDb> {
    const powerLossRun = nemesisNames(this.o.nemesis).includes('power-loss');
    // The membership nemesis starts new nodes in the plan's spare slots.
    const spareSlots = nemesisNames(this.o.nemesis).includes('membership') ? Math.max(0, MAX_PLANNED_NODES - this.o.nodes) : 0;
    const settings: LaunchSettings = {
      distDir: this.distDir,
      flush: this.o.flush,
      segmentSizeBytes: this.o.segmentSizeBytes,
      maxMessageSizeBytes: Math.min(256 * 1024, this.o.segmentSizeBytes - 64 * 1024),
      brokerEnv: {
        // lying-fsync is a file-layer fault (the lazy layer whose log syncs persist nothing);
        // the other faults are the broker's.
        ...(this.o.unsafeTestFault === undefined || this.o.unsafeTestFault === LYING_FSYNC ? {} : { RMQ_UNSAFE_TEST_FAULT: this.o.unsafeTestFault }),
        // A power loss needs to know what was durable: the storage's test-only lazy mode keeps it.
        ...(powerLossRun ? { [LAZY_FS_ENV]: this.o.unsafeTestFault === LYING_FSYNC ? LYING_FSYNC : '1' } : {}),
      },
      // The retention nemesis deletes every full segment when it runs: none is kept for age.
      extraBrokerConf: {
        ...(nemesisNames(this.o.nemesis).includes('retention') ? { fileReservedTime: '0' } : {}),
        ...(this.o.workload === 'transactions' ? TX_BROKER_CONF : {}),
        ...this.o.brokerConf,
      },
      logLevel: this.o.logLevel,
    };
    let lastError: unknown;
    for (let attempt = 0; attempt < SETUP_ATTEMPTS; attempt++) {
      const frontDoors = this.o.frontDoors === true;
      const base = await findFreeBlock(portCount(this.o.groups, this.o.nodes + spareSlots, frontDoors, true));
      const ports = clusterPortPlan({ basePort: base, groups: this.o.groups, nodes: this.o.nodes + spareSlots, frontDoors, proxies: true });
      // A failed attempt may have left half-initialized data; each attempt starts empty.
      rmSync(join(this.runDir, 'nodes'), { recursive: true, force: true });
      try {
        this.db = await ClusterDb.setup({
          runDir: this.runDir,
          nodeCount: this.o.nodes,
          extraNodeSlots: spareSlots,
          group: GROUP,
          ports,
          seed: this.o.seed,
          launchNamesrv: (input) => launchNamesrv(settings, input),
          launchNode: (input) => launchNode(settings, input),
          readyTimeoutMs: SETUP_TIMEOUT_MS / 2,
          ...(frontDoors ? { frontDoors: true } : {}),
          // The disk-full nemesis fills one node's own small file system.
          ...(nemesisNames(this.o.nemesis).includes('disk-full') ? { nodeFsBytes: NODE_FS_BYTES } : {}),
          ...(powerLossRun ? { revertToDurable: (dataDir: string) => revertToDurable(this.distDir, dataDir, this.o.seed) } : {}),
        });
        this.summary.basePort = base;
        this.nodes = new GuardedNodes(this.db);
        return this.db;
      } catch (err) {
        lastError = err;
        // Only a port someone else took is worth another block; anything else would fail again.
        if (!/EADDRINUSE|address already in use/i.test((err as Error).message)) throw err;
        this.say(`port block ${base} was taken during setup; retrying on another`);
      }
    }
    throw new RunError('ERR_JEPSEN_RUN_SETUP', `could not start the cluster on a free port block after ${SETUP_ATTEMPTS} attempts: ${(lastError as Error | undefined)?.message ?? 'every block was busy'}`);
  }

  private async createTopic(namesrvAddr: string): Promise<void> {
    const admin = new Admin({ namesrvAddr, requestTimeoutMs: 2000, logger: this.logger.child({ component: 'admin' }) });
    this.admin = admin;
    await admin.start();
    const deadline = Date.now() + SETUP_TIMEOUT_MS;
    let last: unknown;
    // Bounded by the deadline: the NameServer learns the leader within a registration round.
    while (Date.now() < deadline && !this.abort.signal.aborted) {
      try {
        await admin.createTopic(TOPIC, { writeQueueNums: this.o.queues, readQueueNums: this.o.queues });
        const status = await admin.topicStatus(TOPIC);
        // --queues per group: the topic spreads over every group.
        if (status.length === this.o.queues * this.o.groups) return;
      } catch (err) {
        last = err;
      }
      await sleep(500);
    }
    throw new RunError('ERR_JEPSEN_RUN_SETUP', `could not create topic ${TOPIC} with ${this.o.queues} queues: ${(last as Error | undefined)?.message ?? 'the route never showed every queue'}`);
  }

  /** Stops clients, heals nothing (the mix did), kills every process, closes the history. Idempotent. */
  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    this.cleaned = true;
    this.nodes?.close();
    this.abort.abort();
    const step = async (what: string, f: () => Promise<unknown> | unknown): Promise<void> => {
      try {
        await f();
      } catch (err) {
        this.summary.errors.push(`cleanup ${what}: ${(err as Error).message}`);
      }
    };
    // A run that ended by an error may still have a partition or a paused node: heal the
    // proxies so the clients' last operations finish quickly, then stop everything.
    if (this.db !== undefined && this.history !== undefined && this.probes.length > 0) {
      const db = this.db;
      db.mesh.heal();
      db.mesh.clearFaults();
      for (const id of db.nodeIds) if (db.status(id) === 'paused') db.resume(id);
    }
    await step('producers', () => this.producers?.stop());
    await step('consumers', () => this.consumers?.stop());
    await step('admin', () => this.admin?.shutdown());
    await step('probe', () => Promise.all(this.probes.map((p) => p.close())));
    await step('history', () => this.history?.close());
    if (this.db !== undefined) this.summary.crashes = this.db.processes.unexpectedExits().map((e) => ({ ...e }));
    await step('cluster', () => this.db?.teardown());
    // Backstop: anything the pid file shows started and not exited (same start time) dies now.
    const left = killStaleProcesses(join(this.runDir, PID_FILE_NAME)).filter((p) => p.killed);
    if (left.length > 0) this.summary.errors.push(`cleanup killed ${left.length} process(es) that outlived the teardown: ${left.map((p) => p.name).join(', ')}`);
  }
}
