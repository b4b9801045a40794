// Front doors (frontDoorEnable=true; docs/operations.md, "Front doors"). Every node listens on one
// port per door of its group (frontDoorPorts) and serves any door on its port for it: requests
// do not carry the broker name, so the port tells which door's queue ids a request speaks of.
// A node registers its own door with every NameServer; the Raft leader also registers the door
// of every peer it has not heard from for DOOR_TAKEOVER_AFTER_MS, on its own port for that door,
// and gives it back (unregisters) once the peer answers again. Clients that avoid a dead door
// (ali-ons retries another broker name) keep sending through the live ones, and at their next
// route refresh find the dead door's queues served by the leader.

import type { TlsOptions } from 'node:tls';
import type { Logger } from '../common/logger.js';
import { isValidTopicName } from '../common/names.js';
import type { RemotingCommand } from '../protocol/remoting-command.js';
import { RemotingServer, type RequestHandler } from '../protocol/remoting-server.js';
import { RequestCode } from '../protocol/request-code.js';
import type { TopicConfig } from '../protocol/route-data.js';
import type { BrokerConfig } from './broker-config.js';
import type { BrokerRaft } from './broker-raft.js';
import { doorBrokerName, doorQueueOf, doorShare, groupQueueOf } from './front-door-map.js';
import { FORWARD_HOPS_FIELD } from './leader-forwarder.js';
import { connectionLimitsOf } from './server-limits-config.js';

/** A peer silent this long (no answer to the leader's heartbeats) has its door taken over. */
export const DOOR_TAKEOVER_AFTER_MS = 1_500;
const SAMPLE_INTERVAL_MS = 200;

/** One brokerId-0 registration: a door and the address that serves it now. */
export interface DoorClaim {
  brokerName: string;
  brokerAddr: string;
  /** Compared by the NameServer per broker name: a takeover outranks the owner at the same Raft term. */
  claimTerm: number;
  topicConfigTable: Record<string, TopicConfig>;
  defaultTopicQueueNums: number;
}

const SEND_CODES = new Set<number>([RequestCode.SEND_MESSAGE, RequestCode.SEND_MESSAGE_V2, RequestCode.SEND_BATCH_MESSAGE]);
const QUEUE_CODES = new Set<number>([
  ...SEND_CODES, RequestCode.PULL_MESSAGE, RequestCode.QUERY_CONSUMER_OFFSET, RequestCode.UPDATE_CONSUMER_OFFSET,
  RequestCode.GET_MAX_OFFSET, RequestCode.GET_MIN_OFFSET, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP,
]);

export class FrontDoors {
  private readonly servers = new Map<string, RemotingServer>();
  private readonly lastHeardMs = new Map<string, number>();
  private readonly taken = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private wasLeader = false;
  private nextQueue = 0;

  constructor(
    private readonly config: Readonly<BrokerConfig>,
    private readonly raft: BrokerRaft,
    private readonly log: Logger,
    /** Called when the set of doors this node serves changed (the registrar registers again). */
    private readonly onServedChange: () => void,
    /** With tlsEnable the doors serve TLS like the client port (else they would be a plain way in). */
    private readonly tls?: TlsOptions,
  ) {}

  get doors(): number {
    return this.raft.peerIds.length;
  }

  doorOf(nodeId: string): number {
    return this.raft.peerIds.indexOf(nodeId);
  }

  addrOf(nodeId: string): string {
    return `${this.config.brokerIP1}:${this.config.frontDoorPorts[nodeId]!}`;
  }

  /** Opens one server per door with every processor, each request translated to group queue ids. */
  async listen(handlers: ReadonlyMap<number, RequestHandler>, onChannelClose: (channel: Parameters<Parameters<RemotingServer['onChannelClose']>[0]>[0]) => void): Promise<void> {
    for (const id of this.raft.peerIds) {
      const server = new RemotingServer({ logger: this.log.child({ component: 'front-door', door: id }), ...connectionLimitsOf(this.config), ...(this.tls !== undefined ? { tls: this.tls } : {}) });
      const door = this.doorOf(id);
      for (const [code, handler] of handlers) server.registerHandler(code, QUEUE_CODES.has(code) ? this.translating(door, code, handler) : handler);
      server.onChannelClose(onChannelClose);
      this.servers.set(id, server);
      await server.listen(this.config.frontDoorPorts[id]!, this.config.brokerIP1);
    }
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  /** The registrations this node owes the NameServers now: its own door, and the doors it took over. */
  claims(topics: Iterable<TopicConfig>): DoorClaim[] {
    const term = this.raft.role().term;
    const list = [...topics].filter((t) => isValidTopicName(t.topicName));
    const claim = (id: string, takeover: boolean): DoorClaim => {
      const door = this.doorOf(id);
      const topicConfigTable: Record<string, TopicConfig> = {};
      for (const t of list) {
        const read = doorShare(t.readQueueNums, door, this.doors);
        const write = doorShare(t.writeQueueNums, door, this.doors);
        if (read > 0 || write > 0) topicConfigTable[t.topicName] = { ...t, readQueueNums: read, writeQueueNums: write };
      }
      return {
        brokerName: doorBrokerName(this.config.brokerName, id),
        brokerAddr: this.addrOf(id),
        claimTerm: 2 * term + (takeover ? 2 : 1),
        topicConfigTable,
        defaultTopicQueueNums: doorShare(this.config.defaultTopicQueueNums, door, this.doors),
      };
    };
    return [claim(this.raft.nodeId, false), ...[...this.taken].map((id) => claim(id, true))];
  }

  /** The leader notes which peers answer; doors of silent peers are taken over, given back when they answer. */
  private sample(): void {
    const now = Date.now();
    const leader = this.raft.isLeader();
    if (leader && !this.wasLeader) for (const id of this.raft.peerIds) this.lastHeardMs.set(id, now);
    this.wasLeader = leader;
    let changed = false;
    if (!leader) {
      changed = this.taken.size > 0;
      this.taken.clear();
    } else {
      const progress = this.raft.node.status().progress;
      for (const id of this.raft.peerIds) {
        if (id === this.raft.nodeId) continue;
        const p = progress[id];
        if (p?.active === true) this.lastHeardMs.set(id, now);
        const silent = now - (this.lastHeardMs.get(id) ?? now) > DOOR_TAKEOVER_AFTER_MS;
        if (silent && !this.taken.has(id)) {
          this.taken.add(id);
          changed = true;
          this.log.warn({ door: doorBrokerName(this.config.brokerName, id), addr: this.addrOf(id) }, 'peer silent: taking over its front door');
        } else if (!silent && this.taken.has(id) && p?.state === 'replicate') {
          this.taken.delete(id);
          changed = true;
          this.log.info({ door: doorBrokerName(this.config.brokerName, id) }, 'peer answers again: giving its front door back');
        }
      }
    }
    if (changed) this.onServedChange();
  }

  /** Door queue ids in, group queue ids to the processor, door queue ids back in a send's answer. */
  private translating(door: number, code: number, handler: RequestHandler): RequestHandler {
    const doors = this.doors;
    const send = SEND_CODES.has(code);
    return async (req: RemotingCommand, channel) => {
      if (req.extFields[FORWARD_HOPS_FIELD] !== undefined) return handler(req, channel);
      for (const field of send ? ['queueId', 'e'] : ['queueId']) {
        const raw = req.extFields[field];
        if (raw === undefined || !/^-?\d+$/.test(raw)) continue;
        let local = Number(raw);
        if (local < 0 && send) {
          // "Any queue" stays within this door's share so the answer names one of its queues.
          const topic = this.raft.metadata.topic(req.extFields['topic'] ?? req.extFields['b'] ?? '');
          const share = topic === undefined ? 0 : doorShare(topic.writeQueueNums, door, doors);
          if (share > 0) local = this.nextQueue++ % share;
        }
        req.extFields[field] = String(groupQueueOf(local, door, doors));
      }
      const resp = await handler(req, channel);
      if (send && resp?.extFields['queueId'] !== undefined) {
        const local = doorQueueOf(Number(resp.extFields['queueId']), door, doors);
        if (local !== undefined) resp.extFields['queueId'] = String(local);
      }
      return resp;
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const s of this.servers.values()) await s.close();
    this.servers.clear();
  }
}
