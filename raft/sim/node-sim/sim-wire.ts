// The simulated network between RaftNode instances: every message goes through the real frame
// codec (so a receiver gets its own copy of the payloads, as from a socket), then is delivered
// after a seeded delay (which reorders), or lost, or delivered twice; directed link cuts model
// partitions. A transport per node incarnation plugs into RaftNode's transport seam.
import type { Message } from '../../core/messages.js';
import type { NodeId } from '../../core/types.js';
import type { RaftTransport } from '../../node/node-runtime.js';
import { decodeMessage, encodeMessage, FRAME_PREFIX_BYTES } from '../../transport/frame-codec.js';
import type { TransportStats } from '../../transport/tcp-transport.js';
import type { Prng } from '../prng.js';
import type { SimScheduler } from './sim-clock.js';

export interface WireFaults {
  dropRate: number;
  duplicateRate: number;
  /** Delivery delay in ms, uniform in [1, maxDelayMs]. */
  maxDelayMs: number;
}

/** Bound on messages on the wire at once; past it new ones are lost (a full socket buffer). */
export const MAX_ON_WIRE = 20_000;

export class SimWire {
  private readonly inbox = new Map<NodeId, (m: Message) => void>();
  private readonly cut = new Set<string>();
  private onWire = 0;
  faults: WireFaults;
  sent = 0;
  dropped = 0;

  constructor(
    private readonly sched: SimScheduler,
    private readonly rng: Prng,
    faults: WireFaults,
  ) {
    this.faults = { ...faults };
  }

  /** A transport for one incarnation of `id`; messages reach it only while it is attached. */
  transport(id: NodeId, onMessage: (m: Message) => void): SimTransport {
    return new SimTransport(this, id, onMessage);
  }

  attach(id: NodeId, onMessage: (m: Message) => void): void {
    this.inbox.set(id, onMessage);
  }

  detach(id: NodeId, onMessage: (m: Message) => void): void {
    if (this.inbox.get(id) === onMessage) this.inbox.delete(id);
  }

  send(m: Message): void {
    this.sent++;
    if (this.cut.has(`${m.from}>${m.to}`) || this.rng.chance(this.faults.dropRate) || this.onWire >= MAX_ON_WIRE) {
      this.dropped++;
      return;
    }
    const frame = encodeMessage(m);
    const copies = this.rng.chance(this.faults.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.onWire++;
      this.sched.schedule(this.sched.now + this.rng.int(1, Math.max(1, this.faults.maxDelayMs) * (i + 1)), () => this.deliver(frame));
    }
  }

  private deliver(frame: Buffer): void {
    this.onWire--;
    const m = decodeMessage(frame.subarray(FRAME_PREFIX_BYTES));
    // A link cut after sending also loses what was on the wire; so does a receiver that died.
    const to = this.inbox.get(m.to);
    if (to === undefined || this.cut.has(`${m.from}>${m.to}`)) {
      this.dropped++;
      return;
    }
    to(m);
  }

  /** Splits the nodes into `side` and the rest, both directions. */
  partition(side: readonly NodeId[], all: readonly NodeId[]): void {
    for (const a of side) for (const b of all) if (!side.includes(b)) {
      this.cut.add(`${a}>${b}`);
      this.cut.add(`${b}>${a}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  healAll(): void {
    this.cut.clear();
  }
}

export class SimTransport implements RaftTransport {
  private receivedFrames = 0;
  private readonly receive = (m: Message): void => {
    this.receivedFrames++;
    this.onMessage(m);
  };

  constructor(
    private readonly wire: SimWire,
    private readonly id: NodeId,
    private readonly onMessage: (m: Message) => void,
  ) {}

  start(): Promise<void> {
    this.wire.attach(this.id, this.receive);
    return Promise.resolve();
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) this.wire.send(m);
  }

  stats(): TransportStats {
    return { receivedFrames: this.receivedFrames, rejectedConnections: 0, authFailures: 0, peers: {} };
  }

  /** Also what a crash does: the node is gone from the network. */
  close(): Promise<void> {
    this.wire.detach(this.id, this.receive);
    return Promise.resolve();
  }
}
