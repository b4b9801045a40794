// A hand-driven cluster for transcript-style tests of the core: the test decides which node
// ticks, which messages are delivered, dropped or edited, and reads a one-line transcript of
// every delivered message. The safety checker watches it as it watches the random simulation.
import { MessageType, type Message } from '../core/messages.js';
import type { NodeId } from '../core/types.js';
import { SafetyChecker } from './checker.js';
import { Prng } from './prng.js';
import { DEFAULT_CORE_OPTIONS, SimNode, type CoreOptions, type FlushMode } from './sim-node.js';

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(MessageType).map(([k, v]) => [v, k]));

/** A compact, stable rendering of a message for transcripts. */
export function describeMessage(m: Message): string {
  const parts = [`${m.from}->${m.to}`, TYPE_NAMES[m.type] ?? String(m.type), `t${m.term}`];
  switch (m.type) {
    case MessageType.App:
      parts.push(`prev=${m.index}/${m.logTerm}`, `commit=${m.commit}`, `entries=[${m.entries.map((e) => `${e.index}/${e.term}`).join(',')}]`);
      break;
    case MessageType.AppResp:
      parts.push(m.reject ? `reject index=${m.index} conflictTerm=${m.logTerm} hint=${m.rejectHint}` : `index=${m.index}`);
      break;
    case MessageType.Vote:
    case MessageType.PreVote:
      parts.push(`last=${m.index}/${m.logTerm}`);
      if (m.force) parts.push('force');
      break;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      parts.push(m.reject ? 'reject' : 'grant');
      break;
    case MessageType.Heartbeat:
      parts.push(`commit=${m.commit}`);
      break;
    case MessageType.Reset:
      parts.push(`start=${m.start?.index}/${m.start?.term}`);
      break;
    case MessageType.ReadIndexResp:
      parts.push(`index=${m.index}`);
      break;
    default:
      break;
  }
  return parts.join(' ');
}

export interface ManualClusterOptions {
  size?: number;
  core?: Partial<CoreOptions>;
  flush?: FlushMode;
  seed?: number;
}

/** Bound on delivery rounds in `deliverAll`: a quiet cluster settles in far fewer. */
const MAX_DELIVERY_ROUNDS = 1000;

export class ManualCluster {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new SafetyChecker();
  /** Messages sent and not yet delivered or dropped. */
  queue: Message[] = [];
  /** Every delivered message, described. */
  transcript: string[] = [];
  readonly applied = new Map<NodeId, number[]>();
  readonly readStates = new Map<NodeId, { index: number; context: string }[]>();
  readonly resets: { node: NodeId; index: number; term: number }[] = [];
  /** Directed links that lose everything: "from>to". */
  readonly cut = new Set<string>();

  private readonly core: CoreOptions;
  private readonly rng: Prng;
  private readonly flushMode: FlushMode;

  constructor(opts: ManualClusterOptions = {}) {
    const size = opts.size ?? 3;
    this.ids = Array.from({ length: size }, (_, i) => `n${i}`);
    this.core = { ...DEFAULT_CORE_OPTIONS, ...opts.core };
    this.rng = new Prng(opts.seed ?? 1);
    this.flushMode = opts.flush ?? 'sync';
    this.checker.bootstrap(this.ids);
    for (const id of this.ids.slice()) this.addNode(id, this.ids.slice());
  }

  /** Starts a node with `bootstrapVoters` as its configuration until it learns one (a joining learner). */
  addNode(id: NodeId, bootstrapVoters: readonly NodeId[]): SimNode {
    if (!this.ids.includes(id)) this.ids.push(id);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    this.checker.onStart(id, 0);
    const observer = {
      onAppend: this.checker.onAppend.bind(this.checker),
      onApply: (node: NodeId, e: { index: number; term: number; type: number; payload: Uint8Array }) => {
        this.applied.get(node)!.push(e.index);
        this.checker.onApply(node, e as never);
      },
      onReset: (node: NodeId, start: { index: number; term: number; data: Uint8Array }) => {
        this.resets.push({ node, index: start.index, term: start.term });
        this.checker.onReset(node, start);
      },
      onReady: this.checker.onReady.bind(this.checker),
      onReadState: (node: NodeId, rs: { index: number; context: Uint8Array }) => {
        this.readStates.get(node)!.push({ index: rs.index, context: new TextDecoder().decode(rs.context) });
      },
      onStepError: () => {},
    };
    const n = new SimNode(id, bootstrapVoters, this.flushMode, this.core, this.rng.fork(), observer, (m) => this.queue.push(m));
    this.nodes.set(id, n);
    return n;
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`assertion: no node ${id}`);
    return n;
  }

  raft(id: NodeId) {
    const r = this.node(id).raft;
    if (r === undefined) throw new Error(`assertion: ${id} is down`);
    return r;
  }

  /** Drains every node's Ready into the queue. */
  flush(): void {
    for (const n of this.nodes.values()) n.processReady();
  }

  /** Ticks one node `times` times, draining Readies after each tick. */
  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.node(id).tick();
      this.flush();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const n of this.nodes.values()) n.tick();
      this.flush();
    }
  }

  /** Takes the queued messages (after draining Readies), leaving the queue empty. */
  take(): Message[] {
    this.flush();
    const q = this.queue;
    this.queue = [];
    return q;
  }

  deliver(m: Message): void {
    this.transcript.push(describeMessage(m));
    this.node(m.to).deliver(m);
  }

  /**
   * Delivers until quiet. `edit` may drop a message (return undefined) or replace it.
   * Cut links and down nodes lose their messages.
   */
  deliverAll(edit?: (m: Message) => Message | undefined): number {
    let delivered = 0;
    for (let round = 0; round < MAX_DELIVERY_ROUNDS; round++) {
      const batch = this.take();
      if (batch.length === 0) return delivered;
      for (const original of batch) {
        if (this.cut.has(`${original.from}>${original.to}`) || !this.node(original.to).isUp()) continue;
        const m = edit === undefined ? original : edit(original);
        if (m === undefined) continue;
        this.deliver(m);
        delivered++;
      }
    }
    throw new Error('assertion: the cluster did not quiesce');
  }

  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Ticks `id` until it starts a campaign, then lets the election play out. */
  elect(id: NodeId): void {
    const raft = this.raft(id);
    for (let i = 0; i < 4 * DEFAULT_CORE_OPTIONS.electionTicks * 4 && raft.status().role === 'follower'; i++) this.tick(id);
    this.deliverAll();
    if (raft.status().role !== 'leader') throw new Error(`assertion: ${id} did not win (${raft.status().role})`);
  }

  leaderOf(): NodeId[] {
    return this.ids.filter((id) => this.node(id).raft?.status().role === 'leader');
  }
}
