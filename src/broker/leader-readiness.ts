// When a Raft leader may act as the group's master. A new leader proposes an announcement of its
// client address for its term; it is ready (serves writes, registers as brokerId 0) once that
// announcement is applied here, which implies everything before it is dispatched, and once its
// metadata is complete: a leader missing metadata would serve wrong consumer offsets and topic
// configs, and no later entry can complete it (only a ready leader proposes snapshots), so it
// hands leadership to its most caught-up follower instead. Role changes and readiness are told
// to listeners (the registrar, the forwarder, waiting requests).
import { EventEmitter } from 'node:events';
import type { RaftNode, RoleChange } from '../../raft/index.js';
import type { Logger } from '../common/logger.js';
import type { RoleState } from './broker-context.js';
import { encodeControlEntry } from './control-entry.js';
import type { MetadataState } from './metadata-state.js';

const ANNOUNCE_RETRY_MS = 200;
const HAND_OFF_RETRY_MS = 1000;

export interface LeaderReadinessDeps {
  nodeId: string;
  brokerAddr: string;
  node: () => RaftNode;
  metadata: MetadataState;
  /** For the "ready" log line. */
  dispatchedIndex: () => number;
  log: Logger;
  isClosed: () => boolean;
}

export class LeaderReadiness {
  private current: RoleState;
  private announcingTerm = -1;
  /** The term in which this node, leading with incomplete metadata, handed leadership away. */
  private handOffTerm = -1;
  private readonly events = new EventEmitter();

  constructor(private readonly d: LeaderReadinessDeps, term: number) {
    this.current = { role: 'follower', leaderId: '', term, ready: false };
    // Requests waiting out an election each listen once (bounded by the server's in-flight
    // limit per connection), so the default warning at 10 listeners does not apply.
    this.events.setMaxListeners(0);
  }

  get state(): RoleState {
    return this.current;
  }

  onChange(listener: (state: RoleState) => void): () => void {
    this.events.on('role', listener);
    return () => this.events.off('role', listener);
  }

  /** The Raft node reported a role, leader or term. */
  onRole(r: RoleChange): void {
    const s = this.current;
    if (r.role === s.role && r.leader === s.leaderId && r.term === s.term) return;
    this.current = { role: r.role, leaderId: r.leader, term: r.term, ready: false };
    if (r.role === 'leader') this.announce(r.term);
    this.refresh(true);
  }

  /** Re-judges readiness (an announcement or the metadata's completeness changed). */
  refresh(forceEmit = false): void {
    const a = this.d.metadata.leaderAnnouncement();
    const s = this.current;
    const announced = s.role === 'leader' && a !== undefined && a.nodeId === this.d.nodeId && a.term === s.term;
    const ready = announced && this.d.metadata.complete;
    if (announced && !ready) this.handOffIncompleteLeadership(s.term);
    if (ready !== s.ready || forceEmit) {
      this.current = { ...s, ready };
      if (ready) this.d.log.info({ term: s.term, dispatchedIndex: this.d.dispatchedIndex() }, 'leader ready: announcement committed and dispatch caught up');
      this.events.emit('role', this.current);
    } else if (a && s.role !== 'leader') {
      // A follower learning the leader's address is a change worth telling (forwarding).
      this.events.emit('role', this.current);
    }
  }

  /** Proposes this node's announcement for `term`, retrying while it still leads that term. */
  private announce(term: number): void {
    if (this.announcingTerm === term) return;
    this.announcingTerm = term;
    const attempt = (): void => {
      if (this.d.isClosed() || this.current.role !== 'leader' || this.current.term !== term) return;
      const a = this.d.metadata.leaderAnnouncement();
      if (a && a.term === term && a.nodeId === this.d.nodeId) return;
      this.d.node().propose(encodeControlEntry({ kind: 'leader', announcement: { nodeId: this.d.nodeId, term, brokerAddr: this.d.brokerAddr } })).then(
        () => this.refresh(),
        (err: unknown) => {
          this.d.log.warn({ err, term }, 'leader announcement not committed; retrying');
          const t = setTimeout(attempt, ANNOUNCE_RETRY_MS);
          t.unref();
        },
      );
    };
    attempt();
  }

  private handOffIncompleteLeadership(term: number): void {
    if (this.handOffTerm === term) return;
    this.handOffTerm = term;
    const node = this.d.node();
    let target: string | undefined;
    let best = -1;
    for (const [id, p] of Object.entries(node.status().progress)) {
      if (id !== this.d.nodeId && p.match > best) {
        target = id;
        best = p.match;
      }
    }
    const fields = { term, missingThrough: this.d.metadata.incompleteThrough, target };
    if (target === undefined) {
      this.d.log.error(fields, 'leading with incomplete metadata and no follower to hand leadership to; not serving');
      return;
    }
    this.d.log.warn(fields, 'leading with incomplete metadata; handing leadership to a follower');
    node.transferLeadership(target).catch((err: unknown) => {
      this.d.log.warn({ err, ...fields }, 'hand-off of leadership with incomplete metadata failed; retrying');
      const t = setTimeout(() => {
        if (this.d.isClosed() || this.current.term !== term) return;
        this.handOffTerm = -1;
        this.refresh();
      }, HAND_OFF_RETRY_MS);
      t.unref();
    });
  }
}
