// `rmq cluster restart --rolling`: restarts a running local cluster one broker at a time so
// clients keep working. Per group: the followers first, then the leader after handing leadership
// to its most caught-up follower (the order is chosen turn by turn, as leadership may move); each node is stopped with SIGTERM, started again with its conf
// and data, and the next one waits until it answers and has applied everything the leader had
// committed when it was asked (caught up), so a quorum of up-to-date nodes always exists.
import type { Admin } from '../client/index.js';
import { mapPollError, pollUntil } from '../common/poll.js';
import { clusterAdmin } from './cluster-admin.js';
import { DevkitError } from './devkit-errors.js';
import type { ClusterFile, ClusterGroupInfo, ClusterNodeInfo } from './cluster-file.js';
import { killNode, restartNode } from './cluster-launcher.js';
import { nodeLeaderNow, type LeaderNow } from './wait-leaders.js';

export interface RollingStep {
  brokerName: string;
  nodeId: string;
  /** It led the group when its turn came (leadership was handed over first). */
  wasLeader: boolean;
  /** The transfer's own figure (tookMs), for the leader's step. */
  transferMs?: number;
  newLeader?: string;
  pid: number;
  /** From SIGTERM until the restarted node answered and had caught up. */
  stepMs: number;
}

export interface RollingOptions {
  /** Per node: how long to wait for it to stop, start and catch up. */
  timeoutMs: number;
  logLevel?: string;
  say?: (line: string) => void;
}

const POLL_MS = 100;

export async function rollingRestart(file: ClusterFile, o: RollingOptions): Promise<RollingStep[]> {
  const say = o.say ?? (() => {});
  // Signed with the cluster's admin account under ACL (RAFT_STATUS and the hand-over are admin requests).
  const admin = clusterAdmin(file, 1500);
  await admin.start();
  const steps: RollingStep[] = [];
  try {
    for (const g of file.groups) {
      const pending = [...g.nodes];
      // Bounded: one node of the group restarted per round. The next is a follower not yet
      // restarted, chosen at each turn: leadership may move while a follower restarts, and the
      // node leading at the end goes last (handed over first), or no hand-over is needed at all.
      while (pending.length > 0) {
        const leader = await leaderOf(admin, g, o.timeoutMs);
        const next = pending.find((n) => n.id !== leader.nodeId) ?? pending[0]!;
        pending.splice(pending.indexOf(next), 1);
        steps.push(await restartOne(admin, file, g, next, o, say));
      }
    }
    return steps;
  } finally {
    await admin.shutdown();
  }
}

async function restartOne(admin: Admin, file: ClusterFile, g: ClusterGroupInfo, n: ClusterNodeInfo, o: RollingOptions, say: (line: string) => void): Promise<RollingStep> {
  const name = `${g.brokerName}/${n.id}`;
  let transfer: { tookMs?: number; newLeader: string } | undefined;
  const current = await leaderOf(admin, g, o.timeoutMs);
  if (current.nodeId === n.id) {
    transfer = await admin.transferLeaderAt(n.brokerAddr, undefined, o.timeoutMs).catch((err: unknown) => {
      throw new DevkitError(`${name}: handing leadership over before its restart failed: ${(err as Error).message}; nothing was stopped`, 'ERR_DEVKIT_ROLLING');
    });
    say(`${name}: leadership handed to ${transfer.newLeader}${transfer.tookMs !== undefined ? ` in ${transfer.tookMs} ms` : ''}`);
    await leaderOf(admin, g, o.timeoutMs, n.id);
  }
  const started = Date.now();
  await killNode(file, g.brokerName, n.id, 'SIGTERM');
  const pid = restartNode(file, g.brokerName, n.id, o.logLevel);
  await caughtUp(admin, g, n, o.timeoutMs, name);
  const stepMs = Date.now() - started;
  say(`${name}: restarted (pid ${pid}) and caught up in ${stepMs} ms`);
  return {
    brokerName: g.brokerName,
    nodeId: n.id,
    wasLeader: transfer !== undefined,
    ...(transfer?.tookMs !== undefined ? { transferMs: transfer.tookMs } : {}),
    ...(transfer !== undefined ? { newLeader: transfer.newLeader } : {}),
    pid,
    stepMs,
  };
}

/** The group's ready leader (other than `not`), asking the nodes themselves, polled until `timeoutMs`. */
function leaderOf(admin: Admin, g: ClusterGroupInfo, timeoutMs: number, not?: string): Promise<LeaderNow> {
  return pollUntil(`a ready leader of ${g.brokerName}`, timeoutMs, () => nodeLeaderNow(admin, g.nodes, not !== undefined ? { not } : {}), { intervalMs: POLL_MS }).catch(
    mapPollError(() => new DevkitError(`${g.brokerName} has no ready leader after ${timeoutMs} ms; the rolling restart stopped (see the node logs in the cluster folder)`, 'ERR_DEVKIT_ROLLING')),
  );
}

/** Until the node answers and has applied what the leader had committed when asked. */
export async function caughtUp(admin: Admin, g: ClusterGroupInfo, n: ClusterNodeInfo, timeoutMs: number, name: string): Promise<void> {
  const applied = async (): Promise<true | undefined> => {
    const leader = await nodeLeaderNow(admin, g.nodes);
    const s = await admin.raftStatus(n.brokerAddr).catch(() => undefined);
    return leader !== undefined && s !== undefined && s.appliedIndex >= leader.status.commitIndex ? true : undefined;
  };
  await pollUntil(`${name} to catch up`, timeoutMs, applied, { intervalMs: POLL_MS }).catch(
    mapPollError(() => new DevkitError(`${name} did not catch up within ${timeoutMs} ms after its restart; the rolling restart stopped with it running (see its log)`, 'ERR_DEVKIT_ROLLING')),
  );
}
