// dLegerPreferredLeaderId: a leader that is not the preferred node hands leadership to it once
// it is healthy and caught up (it answered the last heartbeat round, replicates, and holds every
// committed entry), as DLedger does. Checked every CHECK_INTERVAL_MS; after a hand-off that did
// not happen it waits RETRY_AFTER_MS, so a node that cannot win does not cause a storm of
// transfers. The transfer is the ordinary one (`rmq admin transferLeader`): writes pause for
// about a round trip, and the old leader relays what it receives meanwhile.
import type { Logger } from '../common/logger.js';
import type { BrokerRaft } from './broker-raft.js';

const CHECK_INTERVAL_MS = 500;
const RETRY_AFTER_MS = 5_000;

export class PreferredLeader {
  private timer: NodeJS.Timeout | undefined;
  private busyUntilMs = 0;

  constructor(
    private readonly preferredId: string,
    private readonly raft: BrokerRaft,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Whether the preferred node could take over without losing anything or waiting. */
  ready(): boolean {
    if (!this.raft.isLeader() || this.raft.nodeId === this.preferredId) return false;
    const s = this.raft.node.status();
    const p = s.progress[this.preferredId];
    return p !== undefined && p.active && p.state === 'replicate' && p.match >= s.commit;
  }

  private check(): void {
    const now = Date.now();
    if (now < this.busyUntilMs || !this.ready()) return;
    this.busyUntilMs = now + RETRY_AFTER_MS;
    this.log.info({ to: this.preferredId }, 'handing leadership back to the preferred leader (dLegerPreferredLeaderId)');
    this.raft.transferLeadership(this.preferredId).then(
      () => this.log.info({ to: this.preferredId }, 'preferred leader took over'),
      (err: unknown) => this.log.warn({ err, to: this.preferredId }, 'hand-off to the preferred leader failed; will try again'),
    );
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
