// Reads that do not hurt writes: which node a pull answer tells the consumer to pull from next
// (`suggestWhichBrokerId`, honoured by ali-ons and our SDK). A consumer far behind the end of the
// log reads pages the leader no longer has in memory, and that disk I/O and CPU compete with the
// write path; every node here holds the committed log, so such a consumer is sent to a follower.
// The rule is RocketMQ's (accessMessageInMemoryMaxRatio with slaveReadEnable): the bytes between
// the last record a pull returns and the end of the log, against a share of the host's RAM.
// Followers register as brokerId = their dLegerPeers position + 1 (namesrv-registrar.ts), so the
// suggestion names one of them. Hysteresis: a follower sends the consumer back to the leader only
// once it is within half the threshold, so one hovering at the threshold does not flip every pull.
import { totalmem } from 'node:os';
import type { BrokerConfig } from './broker-config.js';

/** The Raft view the rule needs (BrokerRaft has it; tests give a stub). */
export interface FollowerReadsRaft {
  readonly nodeId: string;
  readonly peerIds: readonly string[];
  /** Ready leader. */
  isLeader(): boolean;
  /** Leader only: commit index and, per peer, match index, state and recent activity. */
  replication(): { commit: number; progress: Record<string, { match: number; state: string; active: boolean }> };
}

export type FollowerReadsConfig = Pick<BrokerConfig, 'slaveReadEnable' | 'accessMessageInMemoryMaxRatio' | 'slaveReadLagThresholdBytes' | 'frontDoorEnable'>;

/** A follower more than this many entries behind the commit index is not suggested. */
export const MAX_SUGGESTED_FOLLOWER_LAG_ENTRIES = 1000;
/** How long the leader reuses its list of followers fit to serve reads. */
const HEALTHY_CACHE_MS = 1000;

/** Bytes behind the end of the log past which a pull counts as lagging. */
export function lagThresholdBytes(c: FollowerReadsConfig, totalMemBytes: number): number {
  if (c.slaveReadLagThresholdBytes > 0) return c.slaveReadLagThresholdBytes;
  return Math.floor((totalMemBytes * c.accessMessageInMemoryMaxRatio) / 100);
}

export class FollowerReads {
  readonly thresholdBytes: number;
  private healthy: number[] = [];
  private healthyAtMs = -Infinity;

  constructor(
    private readonly config: FollowerReadsConfig,
    private readonly raft: FollowerReadsRaft,
    /** End of the dispatched log on this node (the store's dispatched physical offset). */
    private readonly logEnd: () => number,
    private readonly nowMs: () => number = Date.now,
    totalMemBytes: number = totalmem(),
  ) {
    this.thresholdBytes = lagThresholdBytes(config, totalMemBytes);
  }

  /**
   * The brokerId a pull answer suggests. `lastPhysicalOffset` is the log position of the last
   * record the answer returns, or undefined when it returns none (then the consumer is caught up).
   */
  suggest(queueId: number, lastPhysicalOffset: number | undefined): number {
    // Front doors register every node as brokerId 0 of its own door: there are no follower ids.
    if (!this.config.slaveReadEnable || this.config.frontDoorEnable || lastPhysicalOffset === undefined) return 0;
    const lagBytes = this.logEnd() - lastPhysicalOffset;
    if (this.raft.isLeader()) {
      if (lagBytes <= this.thresholdBytes) return 0;
      const fit = this.fitFollowers();
      // Spread the lagging queues over the fit followers; none fit: the leader serves.
      return fit.length === 0 ? 0 : fit[queueId % fit.length]!;
    }
    if (lagBytes <= this.thresholdBytes / 2) return 0;
    return this.raft.peerIds.indexOf(this.raft.nodeId) + 1;
  }

  /** brokerIds of the followers the leader heard from lately, replicating and close to the commit index. */
  private fitFollowers(): number[] {
    const now = this.nowMs();
    if (now - this.healthyAtMs < HEALTHY_CACHE_MS) return this.healthy;
    const { commit, progress } = this.raft.replication();
    const out: number[] = [];
    this.raft.peerIds.forEach((id, pos) => {
      const p = progress[id];
      if (id === this.raft.nodeId || p === undefined) return;
      if (p.active && p.state === 'replicate' && commit - p.match <= MAX_SUGGESTED_FOLLOWER_LAG_ENTRIES) out.push(pos + 1);
    });
    this.healthy = out;
    this.healthyAtMs = now;
    return out;
  }
}
