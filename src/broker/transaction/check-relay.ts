// The follower's relay of transaction checks to gRPC producers. The leader's check service asks a
// producer channel of the half message's group registered on the leader; a remoting transaction
// producer heartbeats every replica, so the leader has its channel, but a gRPC (v5) producer is
// attached to one node's endpoint only, through its Telemetry stream. So every node that does not
// lead reads the check ops (`k`) the leader writes to the op queue, as it dispatches them, and
// sends the same CHECK_TRANSACTION_STATE to a live gRPC producer (group `%GRPC_TX%<topic>`)
// attached here. The check was already counted by its op; the producer answers with
// EndTransaction on its endpoint, which relays it to the leader like any decision. A producer
// attached to several nodes may be asked more than once; its transaction is still decided once.

import { GRPC_TRANSACTION_GROUP_PREFIX } from '../../common/system-topics.js';
import { decodeMessageRecord, getProperty, MessageProperty } from '../../store/index.js';
import type { BrokerContext, BrokerService, BrokerServiceFactory } from '../broker-context.js';
import { TRANS_OP_HALF_TOPIC } from '../topic-rules.js';
import { OpKind, parseOpBody } from './half-message.js';
import { checkRequestOf } from './transaction-service.js';

/** How often the op queue is read for new check ops. */
const RELAY_POLL_MS = 500;
/** Op records read per round (a burst beyond it waits for the next round). */
const RELAY_OPS_PER_ROUND = 1024;

export class CheckRelay implements BrokerService {
  readonly name = 'transaction-check-relay';
  private timer: NodeJS.Timeout | undefined;
  /** The next unit of the op queue to read; undefined until the first round. */
  private cursor: number | undefined;
  private nextTarget = 0;
  /** Checks relayed since start (for tests and status). */
  relayed = 0;

  constructor(private readonly ctx: BrokerContext) {}

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      try {
        this.round();
      } catch (err) {
        this.ctx.log.warn({ err }, 'relaying transaction checks to gRPC producers failed; retrying');
      }
    }, RELAY_POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round: the check ops dispatched since the last, each relayed when a producer of its group is attached here. */
  round(): void {
    const store = this.ctx.store;
    const max = store.getMaxOffsetInQueue(TRANS_OP_HALF_TOPIC, 0);
    // The first round starts at the end: earlier checks were asked (and are asked again if still open).
    // The ready leader's check service asks the producers attached to it itself.
    if (this.cursor === undefined || this.ctx.raft.isLeader()) {
      this.cursor = max;
      return;
    }
    // Bounded: every read moves the cursor forward, and a round reads at most RELAY_OPS_PER_ROUND ops.
    for (let read = 0; this.cursor < max && read < RELAY_OPS_PER_ROUND; ) {
      const got = store.getMessage(TRANS_OP_HALF_TOPIC, 0, this.cursor, 256, 1024 * 1024);
      if (got.nextBeginOffset <= this.cursor) break;
      for (const bytes of got.messages) {
        read++;
        const op = parseOpBody(decodeMessageRecord(bytes, 0, { verifyCrc: false }).body);
        if (op?.kind === OpKind.CHECK) this.relay(op.halfPhysicalOffset);
      }
      this.cursor = got.nextBeginOffset;
    }
  }

  private relay(halfPhysicalOffset: number): void {
    const bytes = this.ctx.store.lookMessageByOffset(halfPhysicalOffset);
    if (bytes === undefined) return;
    const half = decodeMessageRecord(bytes, 0, { verifyCrc: false });
    const group = getProperty(half.properties, MessageProperty.PRODUCER_GROUP);
    // Remoting producers are asked by the leader (they heartbeat every replica).
    if (group === undefined || !group.startsWith(GRPC_TRANSACTION_GROUP_PREFIX)) return;
    const targets = this.ctx.consumers.producerChannels(group).filter((c) => !c.channel.closed);
    if (targets.length === 0) return;
    const req = checkRequestOf(half, this.ctx.config.brokerName);
    if (req !== undefined && targets[this.nextTarget++ % targets.length]!.channel.sendOneway(req)) this.relayed++;
  }
}

export const checkRelayFactory: BrokerServiceFactory = (ctx) => new CheckRelay(ctx);
