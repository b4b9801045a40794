// Raft metrics of one node, read from what the Raft library already exposes (its status with
// counters, and an observer for log append and sync latencies): the library itself knows nothing
// of Prometheus. Gauges are read at scrape time; counters mirror the node's own cumulative counts.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The part of a RaftNode status these metrics read (raft/node's RaftNodeStatus has it). */
export interface RaftStatusView {
  role: string;
  term: number;
  commit: number;
  firstIndex: number;
  lastIndex: number;
  progress: Record<string, { match: number }>;
  electionsStarted: number;
  preVotesLost: number;
  leaderChanges: number;
  resetsInstalled: number;
}

export interface RaftMetricsSource {
  nodeId: string;
  status(): RaftStatusView;
  /** The index the application has applied (the node's own, not the core's report). */
  appliedIndex(): number;
}

/** What RaftNodeOptions.observer takes: log latencies in milliseconds. */
export interface RaftLatencyObserver {
  append(ms: number, entries: number): void;
  sync(ms: number): void;
}

const ROLES = ['leader', 'follower', 'candidate', 'pre-candidate'] as const;
/** From 50 µs (a page-cache append) to 1 s (an fsync on a starved disk). */
const LOG_LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Registers the Raft metrics; the returned observer goes into RaftNodeOptions.observer. */
export function registerRaftMetrics(registry: Registry, source: RaftMetricsSource): RaftLatencyObserver {
  const registers = [registry];
  // One status per scrape: each gauge's collect asks for it, so cache it for the scrape's turn.
  let cached: RaftStatusView | undefined;
  const status = (): RaftStatusView => {
    if (cached === undefined) {
      cached = source.status();
      queueMicrotask(() => (cached = undefined));
    }
    return cached;
  };
  const gauge = (name: string, help: string, read: (s: RaftStatusView) => number): void => {
    new Gauge({ name, help, registers, collect() { this.set(read(status())); } });
  };
  const counter = (name: string, help: string, read: (s: RaftStatusView) => number): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read(status())); } });
  };
  gauge('rmq_raft_term', 'Current Raft term of this node', (s) => s.term);
  gauge('rmq_raft_commit_index', 'Highest log index this node knows to be committed', (s) => s.commit);
  gauge('rmq_raft_applied_index', 'Highest log index applied (dispatched) on this node', () => source.appliedIndex());
  gauge('rmq_raft_last_log_index', 'Last index in this node\'s log (committed or not)', (s) => s.lastIndex);
  gauge('rmq_raft_first_log_index', 'First index still in this node\'s log (retention moves it)', (s) => s.firstIndex);
  gauge('rmq_raft_is_leader', '1 on the Raft leader of the group, else 0', (s) => (s.role === 'leader' ? 1 : 0));
  new Gauge({
    name: 'rmq_raft_role',
    help: 'Raft role of this node: 1 for the current role, 0 for the others',
    labelNames: ['role'],
    registers,
    collect() {
      const role = status().role;
      for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  new Gauge({
    name: 'rmq_raft_follower_match_lag_entries',
    help: 'On the leader: entries a follower lacks (leader last index minus the follower\'s match index)',
    labelNames: ['follower'],
    registers,
    collect() {
      this.reset();
      const s = status();
      if (s.role !== 'leader') return;
      for (const [id, p] of Object.entries(s.progress)) if (id !== source.nodeId) this.set({ follower: id }, Math.max(0, s.lastIndex - p.match));
    },
  });
  counter('rmq_raft_leader_changes_total', 'Times this node saw the group\'s leader change', (s) => s.leaderChanges);
  counter('rmq_raft_elections_started_total', 'Elections this node started as a candidate', (s) => s.electionsStarted);
  counter('rmq_raft_pre_votes_lost_total', 'Pre-vote rounds of this node that did not lead to an election', (s) => s.preVotesLost);
  counter('rmq_raft_log_resets_installed_total', 'Times this follower\'s log was reset to the leader\'s head (it had fallen behind retention)', (s) => s.resetsInstalled);
  const append = new Histogram({ name: 'rmq_raft_log_append_duration_seconds', help: 'Time to append one Ready\'s entries to the log', buckets: LOG_LATENCY_BUCKETS_S, registers });
  const sync = new Histogram({ name: 'rmq_raft_log_fsync_duration_seconds', help: 'Time of one log sync (fdatasync), in the turn or in the background', buckets: LOG_LATENCY_BUCKETS_S, registers });
  return {
    append: (ms) => append.observe(ms / 1000),
    sync: (ms) => sync.observe(ms / 1000),
  };
}
