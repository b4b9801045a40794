// `npm start` / `rmq start`: a NameServer and one 3-node Raft group under a fresh folder, live
// traffic, a SIGKILL of the leader a few seconds in, the new leader announced with how long sends
// were interrupted, the killed node restarted and caught up, then the verdict: was every
// acknowledged message consumed? Interactive runs leave the cluster up until Ctrl-C; --once (or
// stdin not a terminal) exits after the verdict, 0 only if nothing acknowledged was lost.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Admin } from '../../client/index.js';
import { Dashboard } from '../../dashboard/dashboard-server.js';
import { CliError, ExitCode } from '../cli-errors.js';
import { clusterFilePath, readClusterFile, type ClusterFile } from '../../devkit/cluster-file.js';
import { clusterDown, clusterUp, killClusterSync, killNode, restartNode } from '../../devkit/cluster-launcher.js';
import { routedLeaderNow } from '../../devkit/wait-leaders.js';
import { mapPollError, pollUntil } from '../../common/poll.js';
import { sleep } from '../sleep.js';
import { DemoTraffic } from './demo-traffic.js';
import { Progress } from './progress.js';

export interface DemoOptions {
  once: boolean;
  /** Overall bound; the demo stops everything and fails with a clear message when it passes. */
  timeoutMs: number;
  ratePerSecond: number;
  killAfterMs: number;
  keep: boolean;
  /** Port of the web dashboard (taken when free, else any free port); undefined: none. */
  dashboardPort?: number;
}

const TOPIC = 'DemoTopic';
const IN_FLIGHT = 8;
const MAX_MESSAGES = 1_000_000;
const LEADER_TIMEOUT_MS = 30_000;
const CATCH_UP_TIMEOUT_MS = 30_000;
const CONSUME_TIMEOUT_MS = 30_000;
/** The leader as a client sees it: the NameServer's master that says it leads, ready or not (the demo times the election, not the first commit). */
const CLIENT_VIEW = { anyReadiness: true } as const;

/** The dashboard on `port`, or on a free port when that one is taken. */
async function startDashboard(namesrvAddr: string, port: number): Promise<Dashboard> {
  try {
    return await Dashboard.start({ namesrvAddr, port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err;
    return Dashboard.start({ namesrvAddr, port: 0 });
  }
}

export async function runDemo(o: DemoOptions): Promise<number> {
  const p = new Progress();
  const dir = mkdtempSync(join(tmpdir(), 'rmq-demo-'));
  let file: ClusterFile | undefined;
  let traffic: DemoTraffic | undefined;
  let admin: Admin | undefined;
  let dashboard: Dashboard | undefined;
  let phase = 'starting the cluster';
  let cleaning: Promise<void> | undefined;

  // Before clusterUp returns, its cluster.json already lists what it launched.
  const knownFile = (): ClusterFile | undefined => {
    try {
      if (file === undefined && existsSync(clusterFilePath(dir))) file = readClusterFile(dir);
    } catch {
      // unreadable: nothing more to learn from it
    }
    return file;
  };
  const killAllSync = (): void => {
    const f = knownFile();
    if (f !== undefined) killClusterSync(f);
  };
  // Whatever happens to this process, its children do not outlive it unnoticed.
  process.on('exit', killAllSync);

  const cleanup = (keepData: boolean): Promise<void> =>
    (cleaning ??= (async () => {
      p.stopStatus();
      await traffic?.close().catch(() => undefined);
      await admin?.shutdown().catch(() => undefined);
      await dashboard?.close().catch(() => undefined);
      const f = knownFile();
      if (f !== undefined) await clusterDown(f, 10_000).catch(() => killAllSync());
      process.off('exit', killAllSync);
      if (keepData) p.say(`data and logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    })());

  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) return;
    interrupted = true;
    p.say('interrupted: stopping every process');
    void cleanup(o.keep).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const deadline = Date.now() + o.timeoutMs;
  // The checks below catch a slow phase; this catches a phase that never returns.
  const watchdog = setTimeout(() => {
    p.stopStatus();
    p.say(`FAILED: the demo did not finish within ${Math.round(o.timeoutMs / 1000)} s (while ${phase}); stopping every process`);
    void cleanup(true).finally(() => process.exit(ExitCode.FAILED));
  }, o.timeoutMs + 5000);
  const check = (): void => {
    if (Date.now() > deadline) throw new CliError(`the demo did not finish within ${Math.round(o.timeoutMs / 1000)} s (while ${phase})`, 'ERR_CLI_DEMO_TIMEOUT');
  };
  // Each wait is bounded by its own timeout and by what is left of the demo's.
  const waitFor = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> =>
    pollUntil(what, Math.max(0, Math.min(timeoutMs, deadline - Date.now())), probe, { intervalMs: 50 }).catch(
      mapPollError(() => {
        check();
        return new CliError(`${what} did not happen within ${timeoutMs} ms`, 'ERR_CLI_DEMO_TIMEOUT');
      }),
    );

  try {
    p.say(`data folder ${dir}`);
    const up = await clusterUp({
      dir,
      groups: 1,
      nodes: 3,
      flushDiskType: 'ASYNC_FLUSH',
      clusterName: 'DemoCluster',
      autoCreateTopicEnable: true,
      extraConf: {},
      timeoutMs: Math.min(LEADER_TIMEOUT_MS, o.timeoutMs),
      say: (line) => p.say(line),
    });
    file = up.file;
    const group = file.groups[0]!;
    const first = up.leaders[0]!;
    p.say(`leader elected: ${first.nodeId} (term ${first.term}), registered with the NameServer as master of ${group.brokerName}`);
    if (o.dashboardPort !== undefined) {
      dashboard = await startDashboard(file.namesrv.addr, o.dashboardPort);
      p.say(`dashboard on ${dashboard.url} (open it in a browser to watch the failover)`);
    }
    admin = new Admin({ namesrvAddr: file.namesrv.addr, requestTimeoutMs: 1000 });
    await admin.start();
    await admin.createTopic(TOPIC, { writeQueueNums: 4 });
    p.say(`topic ${TOPIC} created with 4 queues`);

    phase = 'running traffic';
    traffic = new DemoTraffic({ namesrvAddr: file.namesrv.addr, topic: TOPIC, ratePerSecond: o.ratePerSecond, inFlight: IN_FLIGHT, maxMessages: MAX_MESSAGES });
    await traffic.start();
    const t = traffic;
    let leaderNow = first.nodeId;
    p.say(`producer sending ~${o.ratePerSecond} msgs/s (${IN_FLIGHT} sync sends in flight); consumer group demo-consumer consuming`);
    p.showStatus(() => `sent ${t.sent}  acked ${t.acked.count}  consumed ${t.consumed.count}  send errors ${t.sendErrors}  leader ${leaderNow}`);
    await sleep(o.killAfterMs);
    check();

    phase = 'killing the leader';
    const victim = (await routedLeaderNow(admin, group.brokerName, CLIENT_VIEW)) ?? { nodeId: first.nodeId, brokerAddr: first.brokerAddr, term: first.term };
    t.mark();
    const killedAt = performance.now();
    await killNode(file, group.brokerName, victim.nodeId, 'SIGKILL');
    leaderNow = '(election)';
    p.say(`SIGKILL leader ${victim.nodeId} (term ${victim.term}) with ${IN_FLIGHT} sends in flight; ${t.acked.count} messages acknowledged so far`);

    phase = 'waiting for a new leader';
    const a = admin;
    const next = await waitFor('a new leader', LEADER_TIMEOUT_MS, () => routedLeaderNow(a, group.brokerName, { ...CLIENT_VIEW, not: victim.nodeId }));
    const electedMs = performance.now() - killedAt;
    leaderNow = next.nodeId;
    p.say(`new leader ${next.nodeId} (term ${next.term}) registered with the NameServer ${electedMs.toFixed(0)} ms after the kill`);
    await waitFor('the first acknowledged send on the new leader', LEADER_TIMEOUT_MS, async () => (t.firstAckAfterMarkMs > 0 ? true : undefined));
    const interruptionMs = t.firstAckAfterMarkMs - (t.lastAckBeforeMarkMs || killedAt);
    p.say(`sends resumed: no acknowledgement for ${interruptionMs.toFixed(0)} ms (last one before the kill to first one after)`);
    await sleep(Math.min(3000, o.killAfterMs));
    check();

    phase = 'restarting the killed node';
    const restartedAt = performance.now();
    const pid = restartNode(file, group.brokerName, victim.nodeId);
    const victimNode = group.nodes.find((n) => n.id === victim.nodeId)!;
    p.say(`restarted ${victim.nodeId} (pid ${pid}); waiting for it to catch up`);
    const target = (await admin.raftStatus(next.brokerAddr)).commitIndex;
    const caught = await waitFor(`${victim.nodeId} catching up`, CATCH_UP_TIMEOUT_MS, async () => {
      const s = await a.raftStatus(victimNode.brokerAddr).catch(() => undefined);
      return s !== undefined && s.appliedIndex >= target ? s : undefined;
    });
    p.say(`${victim.nodeId} is ${caught.role.toLowerCase()} of ${caught.leader ?? '?'} in term ${caught.term} and applied index ${caught.appliedIndex} (the leader's commit index was ${target} at restart) after ${(performance.now() - restartedAt).toFixed(0)} ms`);
    await sleep(1000);

    phase = 'stopping the producer';
    await t.stopProducing();
    p.say(`producer stopped: ${t.acked.count} acknowledged, ${t.sendErrors} failed`);
    phase = 'waiting for the consumer';
    const allConsumed = await t.waitConsumed(Math.min(CONSUME_TIMEOUT_MS, Math.max(0, deadline - Date.now())));
    check();
    p.stopStatus();
    const missing = t.acked.missingFrom(t.consumed, 10);
    const statuses = await Promise.all(group.nodes.map((n) => a.raftStatus(n.brokerAddr).catch(() => undefined)));

    p.say('summary:');
    p.say(`  leader ${victim.nodeId} killed with SIGKILL; new leader ${next.nodeId} (term ${next.term}) registered after ${electedMs.toFixed(0)} ms`);
    p.say(`  sends interrupted for ${interruptionMs.toFixed(0)} ms; longest gap between acknowledgements ${t.longestGapMs.toFixed(0)} ms`);
    // What the figure above owes to our SDK, and what a stock RocketMQ client would see instead.
    p.say('  (this producer is our SDK, which re-reads the route as soon as a send fails; an unmodified RocketMQ client');
    p.say('   with default settings, ali-ons or Java, re-reads it only every 30 s and would see failed sends for up to 30 s');
    p.say('   here; `rmq cluster up --front-doors` closes that gap: docs/operations.md, "Front doors")');
    p.say(`  ${t.acked.count} messages acknowledged, ${t.sendErrors} sends failed${t.sendErrorsUnknown > 0 ? ` (${t.sendErrorsUnknown} with unknown outcome)` : ''}${t.firstSendError ? ` (first: ${t.firstSendError})` : ''}`);
    p.say(`  ${t.consumed.count} distinct messages consumed, ${t.redelivered} redelivered (at-least-once)`);
    p.say(`  replicas: ${group.nodes.map((n, i) => `${n.id} ${statuses[i]?.role ?? 'down'} applied ${statuses[i]?.appliedIndex ?? '?'}`).join(', ')}`);
    p.say(`  acknowledged but never consumed: ${missing.total === 0 ? 'none' : `${missing.total} (e.g. ${missing.sample.join(', ')})`}`);
    const ok = allConsumed && missing.total === 0;
    clearTimeout(watchdog);
    p.say(ok ? 'OK: nothing acknowledged was lost' : 'FAILED: acknowledged messages were not consumed');

    if (ok && !o.once && process.stdin.isTTY === true && !interrupted) {
      await traffic.close();
      traffic = undefined;
      const ns = file.namesrv.addr;
      process.stdout.write(
        [
          '',
          'The cluster keeps running. Try, in another terminal:',
          `  rmq admin clusterList -n ${ns}`,
          `  rmq produce -n ${ns} -t ${TOPIC} --count 10`,
          `  rmq consume -n ${ns} -t ${TOPIC} -g my-group --count 10`,
          `  rmq admin transferLeader -n ${ns}`,
          `  rmq cluster status --dir ${dir}`,
          ...(dashboard !== undefined ? [`  open ${dashboard.url} (the dashboard)`] : []),
          `  rmq cluster down --dir ${dir}`,
          '(rmq is node dist/src/cli/main.js; npm link puts it on your PATH.) Press Ctrl-C to stop everything.',
          '',
        ].join('\n'),
      );
      await new Promise<never>(() => {
        // Waits for Ctrl-C: onSignal stops everything and exits.
      });
    }
    await cleanup(!ok || o.keep);
    return ok ? ExitCode.OK : ExitCode.FAILED;
  } catch (err) {
    p.stopStatus();
    const msg = err instanceof Error ? err.message : String(err);
    p.say(`FAILED: ${msg}`);
    await cleanup(true);
    return ExitCode.FAILED;
  } finally {
    clearTimeout(watchdog);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
