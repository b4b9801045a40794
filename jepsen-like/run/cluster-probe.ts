// Reads the cluster's state the way an operator would: the broker admin requests RAFT_STATUS
// (1501) and RAFT_REPLICA_DIGEST (1502) over the public remoting protocol, never broker
// internals. One probe per Raft group. The run uses it to find the group's leader (for the
// leader-targeting nemeses), to wait for a ready leader (the dev-cluster kit's one wait,
// src/devkit/wait-leaders.ts) and for every replica to commit and dispatch the same index after
// healing, and to build the final-state record the divergence checker compares. RAFT_STATUS is
// read through the client SDK's one call for it (Admin.raftStatus).
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReplicaState } from '../history/types.js';
import { queueKey } from '../history/types.js';
import { Admin } from '../../src/client/index.js';
import { decodeJsonBody, makeRequest, RaftRequestCode, RemotingClient, type ReplicaDigestBody } from '../../src/protocol/index.js';
import { waitForLeaders } from '../../src/devkit/wait-leaders.js';
import { CodedError } from '../../raft/coded-error.js';

const { RAFT_REPLICA_DIGEST } = RaftRequestCode;
export type { ReplicaDigestBody };
const PROBE_TIMEOUT_MS = 1000;
const DIGEST_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 200;

export interface NodeRaftStatus {
  nodeId: string;
  role: string;
  term: number;
  leader: string | null;
  leaderReady?: boolean;
  commitIndex: number;
  lastIndex: number;
  appliedIndex: number;
  dispatchedIndex?: number;
  /** The configuration in force on this node (brokers with membership changes). */
  voters?: string[];
  learners?: string[];
}


/** Where every replica's digest starts so that all hash the range they all still hold. */
export interface CommonRange {
  fromIndex: number;
  queueFrom: Record<string, number>;
}

/**
 * The highest first log index and, per ConsumeQueue, the highest min offset among the digests:
 * retention deletes each replica's head on its own, and a replica that has not yet deleted a
 * segment the others deleted is not divergent.
 */
export function commonRange(digests: readonly ReplicaDigestBody[]): CommonRange {
  let fromIndex = 0;
  const queueFrom: Record<string, number> = {};
  for (const d of digests) {
    fromIndex = Math.max(fromIndex, d.firstIndex);
    for (const [key, cq] of Object.entries(d.consumeQueues)) queueFrom[key] = Math.max(queueFrom[key] ?? 0, cq.minOffset);
  }
  return { fromIndex, queueFrom };
}

export interface ProbeTarget {
  id: string;
  brokerAddr: string;
}

export interface ProbeOptions {
  /** The NameServer: the leader wait also needs the leader routed as the group's master. */
  namesrvAddr?: string;
  /** Makes queue keys `<group>:<topic>/<queueId>` (runs over several groups). */
  qualifyQueues?: boolean;
  /** The group registers one broker name per node (front doors): the leader wait looks for those. */
  frontDoors?: boolean;
  /** Where the nodes' logs are, for the message of a leader wait that timed out. */
  logDir?: string;
}

export class ProbeError extends CodedError<'ERR_JEPSEN_NO_LEADER' | 'ERR_JEPSEN_NOT_CONVERGED' | 'ERR_JEPSEN_DIGEST'> {}

export class ClusterProbe {
  private readonly client = new RemotingClient({ connectTimeoutMs: PROBE_TIMEOUT_MS });
  private readonly admin: Admin;
  private closed = false;

  constructor(
    readonly group: string,
    /** The nodes to ask; a function when members come and go during the run (the membership nemesis). */
    private readonly targetList: readonly ProbeTarget[] | (() => readonly ProbeTarget[]),
    /** Nodes not to ask (paused or dead): a SIGSTOPped node would only cost a timeout. */
    private readonly reachable: (id: string) => boolean = () => true,
    private readonly options: ProbeOptions = {},
  ) {
    this.namesrvAddr = options.namesrvAddr ?? '127.0.0.1:9876';
    this.admin = new Admin({ namesrvAddr: this.namesrvAddr, requestTimeoutMs: PROBE_TIMEOUT_MS });
    void this.admin.start();
  }

  private readonly namesrvAddr: string;

  /** Moves the group's leadership to `nodeId` (RAFT_TRANSFER_LEADER at the current leader). */
  async transferLeader(nodeId: string): Promise<void> {
    const leader = await this.leaderOf();
    const t = this.targets.find((x) => x.id === leader);
    if (t === undefined) throw new ProbeError('ERR_JEPSEN_NO_LEADER', `group ${this.group} has no leader to transfer from`);
    await this.admin.transferLeaderAt(t.brokerAddr, nodeId);
  }

  private get targets(): readonly ProbeTarget[] {
    return typeof this.targetList === 'function' ? this.targetList() : this.targetList;
  }

  async status(id: string): Promise<NodeRaftStatus | undefined> {
    const t = this.targets.find((x) => x.id === id);
    if (t === undefined || !this.reachable(id)) return undefined;
    try {
      return (await this.admin.raftStatus(t.brokerAddr)) as unknown as NodeRaftStatus;
    } catch {
      return undefined;
    }
  }

  async allStatus(): Promise<Map<string, NodeRaftStatus>> {
    const out = new Map<string, NodeRaftStatus>();
    const all = await Promise.all(this.targets.map(async (t) => [t.id, await this.status(t.id)] as const));
    for (const [id, s] of all) if (s !== undefined) out.set(id, s);
    return out;
  }

  /** The node that says it leads in the highest term (ready or not), or undefined. */
  async leaderOf(): Promise<string | undefined> {
    let best: NodeRaftStatus | undefined;
    for (const s of (await this.allStatus()).values()) {
      if (s.role === 'LEADER' && (best === undefined || s.term > best.term)) best = s;
    }
    return best?.nodeId;
  }

  /**
   * Waits for a leader whose announcement is committed (it serves writes) and that the NameServer
   * routes as the group's master: the kit's one leader wait. Throws its ERR_DEVKIT_NO_LEADER.
   */
  async waitForReadyLeader(timeoutMs: number): Promise<string> {
    const [leader] = await waitForLeaders(
      { dir: this.options.logDir ?? `group ${this.group}`, namesrv: { addr: this.namesrvAddr }, groups: [{ brokerName: this.group, nodes: this.targets }], ...(this.options.frontDoors === true ? { frontDoors: true } : {}) },
      timeoutMs,
      () => (this.closed ? 'the probe was closed' : undefined),
    );
    return leader!.nodeId;
  }

  /**
   * Waits until every node answers with the same commit index, that index is applied and
   * dispatched everywhere, and it holds still for two polls. Returns the common index.
   */
  async waitForConvergence(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let previous = -1;
    let last = '';
    while (Date.now() < deadline && !this.closed) {
      const expected = this.targets.length;
      const all = await this.allStatus();
      const statuses = [...all.values()];
      const commits = new Set(statuses.map((s) => s.commitIndex));
      const settled = statuses.every((s) => s.appliedIndex === s.commitIndex && (s.dispatchedIndex ?? s.commitIndex) === s.commitIndex);
      last = statuses.map((s) => `${s.nodeId}:${s.role}/t${s.term}/c${s.commitIndex}/a${s.appliedIndex}/d${s.dispatchedIndex}`).join(' ');
      if (all.size === expected && commits.size === 1 && settled) {
        const index = statuses[0]!.commitIndex;
        if (index === previous) return index;
        previous = index;
      } else {
        previous = -1;
      }
      await sleep(POLL_INTERVAL_MS);
    }
    throw new ProbeError('ERR_JEPSEN_NOT_CONVERGED', `replicas did not converge within ${timeoutMs} ms; last seen ${last}`);
  }

  async digest(id: string, index: number, range?: CommonRange): Promise<ReplicaDigestBody> {
    const t = this.targets.find((x) => x.id === id);
    if (t === undefined) throw new ProbeError('ERR_JEPSEN_DIGEST', `unknown node ${id}`);
    const fields: Record<string, string> = { index: String(index) };
    if (range !== undefined) {
      fields['fromIndex'] = String(range.fromIndex);
      fields['queueFrom'] = JSON.stringify(range.queueFrom);
    }
    const resp = await this.client.invoke(t.brokerAddr, makeRequest(RAFT_REPLICA_DIGEST, fields), DIGEST_TIMEOUT_MS);
    if (resp.code !== 0) throw new ProbeError('ERR_JEPSEN_DIGEST', `replica digest of ${id} refused with code ${resp.code}: ${resp.remark ?? ''}`);
    return decodeJsonBody<ReplicaDigestBody>(resp.body, `replica digest of ${id}`);
  }

  /**
   * Every node's digest at `index`, as final-state replicas (ConsumeQueues keyed
   * `topic/queueId`), hashed over the range all of them still hold (see commonRange); each
   * replica also reports its own min offsets, which tell the lost checker what retention took.
   */
  async replicaStates(index: number): Promise<ReplicaState[]> {
    const first: ReplicaDigestBody[] = [];
    for (const t of this.targets) first.push(await this.digest(t.id, index));
    const range = commonRange(first);
    const out: ReplicaState[] = [];
    for (const t of this.targets) {
      const d = await this.digest(t.id, index, range);
      const consumeQueueHashes: Record<string, string> = {};
      const consumeQueueMinOffsets: Record<string, number> = {};
      for (const [key, cq] of Object.entries(d.consumeQueues)) {
        const at = key.lastIndexOf('@');
        const qk = queueKey(key.slice(0, at), Number(key.slice(at + 1)), this.options.qualifyQueues === true ? this.group : undefined);
        consumeQueueHashes[qk] = `${cq.hashedFrom ?? cq.minOffset}-${cq.maxOffset}:${cq.sha256}`;
        consumeQueueMinOffsets[qk] = cq.minOffset;
      }
      out.push({ node: t.id, group: this.group, commitIndex: d.dispatchedIndex, logHash: d.logSha256, logHashIndex: d.upToIndex, logHashFromIndex: d.firstIndex, consumeQueueHashes, consumeQueueMinOffsets });
    }
    return out;
  }

  /** Ends every wait loop (they throw) and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
    await this.admin.shutdown();
  }
}
