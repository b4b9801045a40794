// NOTIFY_CONSUMER_IDS_CHANGED (40), broker to client: when a consumer group's client ids change
// on this node (a new id heartbeats, an id unregisters, its channel closes or it expires), every
// channel of the group still registered here gets a one-way request with header `consumerGroup`,
// so its consumers rebalance at once instead of at their next periodic rebalance. As Apache, the
// one that just joined is told too. Only this node's channels are told: clients heartbeat every
// node of the group, so each node tells its own. Changes within one event-loop turn are sent once
// per group (a closing channel may leave many groups, one data chunk may hold many heartbeats).

import type { Logger } from '../common/logger.js';
import { makeRequest } from '../protocol/remoting-command.js';
import type { RemotingChannel } from '../protocol/remoting-server.js';
import { RequestCode } from '../protocol/request-code.js';
import type { ConsumerManagerView } from './broker-context.js';

export class ConsumerIdsNotifier {
  /** Groups changed since the last flush; at most the groups named in one event-loop turn. */
  private readonly pending = new Set<string>();
  private scheduled: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(
    private readonly consumers: ConsumerManagerView,
    private readonly log: Logger,
  ) {}

  /** Notes a group whose ids changed; its channels are told at the end of this turn. */
  changed(group: string): void {
    if (this.stopped) return;
    this.pending.add(group);
    this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Tells every channel of each pending group now; returns how many requests were queued. */
  flush(): number {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    let queued = 0;
    for (const group of this.pending) {
      // One client id per channel is usual, but nothing stops two from sharing one connection.
      const told = new Set<RemotingChannel>();
      for (const { channel } of this.consumers.channels(group)) {
        if (channel.closed || told.has(channel)) continue;
        told.add(channel);
        // A full write backlog closes the channel, which removes it from the registry: nothing to retry.
        if (channel.sendOneway(makeRequest(RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, { consumerGroup: group }))) queued++;
      }
      this.log.debug({ group, channels: told.size }, 'told the consumers of a group that its ids changed');
    }
    this.pending.clear();
    return queued;
  }

  /** Drops what is pending and ignores later changes (shutdown closes every channel anyway). */
  stop(): void {
    this.stopped = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.pending.clear();
  }
}
