// Hostile and careless clients, for the `abuse` nemesis: what an outsider on the network can do
// to a cluster with valid-looking or plainly bad requests, each action bounded in count, bytes
// and time, all on 127.0.0.1. Some actions are one-shot requests (a heartbeat with a bad group
// name, offsets with huge group names, a message to a bad topic, random bytes to every port);
// others hold resources until `close()` (idle connections, frames started and never finished,
// held long polls, squatters on the Raft ports, TLS handshakes started and never finished).
// Every outcome is counted, never thrown: the
// cluster may answer, refuse or close, and the run's checkers judge whether the real workload
// noticed.
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { makeRequest, RemotingClient, RequestCode, type RemotingCommand } from '../../src/protocol/index.js';
import type { SeededRandom } from './seeded-random.js';

export interface AbuseTargets {
  namesrvAddr: string;
  nodes: { id: string; brokerAddr: string; raftAddr: string }[];
  /**
   * Every other port the processes listen on (metrics, gRPC, front doors): they get the random
   * bytes and the TLS garbage too.
   */
  otherAddrs?: string[];
  /** The cluster serves TLS: the well-formed hostile requests go over TLS with these options. */
  tls?: ConnectionOptions;
}

export interface AbuseBounds {
  /** Idle connections opened to each broker port and held until close. */
  idleConnectionsPerBroker: number;
  /** Connections per broker that announce a 16 MiB frame and send only part of it. */
  partialFramesPerBroker: number;
  /** Bytes each partial frame sends before it stalls. */
  partialFrameBytes: number;
  /** Long polls held per connection, on two connections to one broker. */
  heldPullsPerConnection: number;
  /** Connections with random bytes sent to every port (NameServer, brokers, Raft, the others). */
  randomConnectionsPerPort: number;
  /** Connections per port that send a TLS ClientHello record whose content is random bytes. */
  tlsGarbagePerPort: number;
  /** Connections per port held after the first half of a TLS ClientHello (a stalled handshake). */
  stalledHandshakesPerPort: number;
  /** Idle connections to each Raft port. */
  raftSquattersPerNode: number;
  /** Length of the huge group names in UPDATE_CONSUMER_OFFSET (3 requests). */
  hugeNameBytes: number;
}

export const DEFAULT_ABUSE_BOUNDS: AbuseBounds = {
  idleConnectionsPerBroker: 200,
  partialFramesPerBroker: 8,
  partialFrameBytes: 1024 * 1024,
  heldPullsPerConnection: 1000,
  randomConnectionsPerPort: 10,
  tlsGarbagePerPort: 3,
  stalledHandshakesPerPort: 5,
  raftSquattersPerNode: 7,
  hugeNameBytes: 1024 * 1024,
};

export interface AbuseReport {
  /** Response code → count, per kind of request sent. */
  answers: Record<string, Record<string, number>>;
  /** Failures to connect or send (refused, reset, timed out), per kind. */
  errors: Record<string, number>;
  /** Sockets held open at the end of start (idle, partial frames, squatters). */
  socketsHeld: number;
  /** Sockets the cluster closed while they were held. */
  socketsClosedByServer: number;
}

const ABUSE_TOPIC = 'jepsen-abuse';
const REQUEST_TIMEOUT_MS = 3000;
const CONNECT_TIMEOUT_MS = 3000;
const RANDOM_BYTES_MAX = 64 * 1024;
const FRAME_16MIB = 16 * 1024 * 1024;

function split(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

export class Abuser {
  private readonly client: RemotingClient;
  private readonly pullClients: RemotingClient[] = [];
  private readonly held: net.Socket[] = [];
  private readonly pending: Promise<unknown>[] = [];
  readonly report: AbuseReport = { answers: {}, errors: {}, socketsHeld: 0, socketsClosedByServer: 0 };
  private closed = false;

  constructor(
    private readonly targets: AbuseTargets,
    private readonly rng: SeededRandom,
    private readonly bounds: AbuseBounds = DEFAULT_ABUSE_BOUNDS,
  ) {
    this.client = new RemotingClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS, maxPendingRequests: 10_000, ...this.tlsOption() });
  }

  private tlsOption(): { tls?: ConnectionOptions } {
    return this.targets.tls !== undefined ? { tls: this.targets.tls } : {};
  }

  /** Every one-shot action, then the held ones; resolves when all are in place. */
  async start(): Promise<void> {
    const brokers = this.targets.nodes.map((n) => n.brokerAddr);
    for (const addr of brokers) {
      await this.request('heartbeat-bad-group', addr, makeRequest(RequestCode.HEART_BEAT, {}, { body: heartbeatBody('bad group', 'jepsen-abuse-client') }));
      await this.request('send-bad-topic', addr, sendRequest('bad topic'));
      for (let i = 0; i < 3; i++) {
        const group = 'g'.repeat(this.bounds.hugeNameBytes - 1) + String(i);
        await this.request('offset-huge-group', addr, offsetRequest(group, ABUSE_TOPIC));
      }
    }
    const everyPort = [this.targets.namesrvAddr, ...brokers, ...this.targets.nodes.map((n) => n.raftAddr), ...(this.targets.otherAddrs ?? [])];
    for (const addr of everyPort) {
      for (let i = 0; i < this.bounds.randomConnectionsPerPort; i++) await this.randomBytes(addr, 'random-bytes', this.randomBuffer(this.rng.int(1, RANDOM_BYTES_MAX)));
      for (let i = 0; i < this.bounds.tlsGarbagePerPort; i++) await this.randomBytes(addr, 'tls-garbage', this.garbageClientHello());
    }
    for (const addr of everyPort) {
      for (let i = 0; i < this.bounds.stalledHandshakesPerPort; i++) await this.hold(addr, this.garbageClientHello().subarray(0, 40));
    }
    for (const addr of brokers) {
      for (let i = 0; i < this.bounds.idleConnectionsPerBroker; i++) await this.hold(addr, undefined);
      for (let i = 0; i < this.bounds.partialFramesPerBroker; i++) await this.hold(addr, partialFrame(this.bounds.partialFrameBytes));
    }
    for (const n of this.targets.nodes) {
      for (let i = 0; i < this.bounds.raftSquattersPerNode; i++) await this.hold(n.raftAddr, undefined);
    }
    if (brokers.length > 0) await this.holdPulls(brokers[0]!);
    this.report.socketsHeld = this.held.filter((s) => !s.destroyed).length;
  }

  /** Releases everything held; bounded by the requests' own timeouts. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.held) s.destroy();
    await Promise.allSettled(this.pending);
    await Promise.allSettled([this.client.close(), ...this.pullClients.map((c) => c.close())]);
  }

  private count(kind: string, code: number | string): void {
    const byCode = (this.report.answers[kind] ??= {});
    byCode[String(code)] = (byCode[String(code)] ?? 0) + 1;
  }

  private error(kind: string): void {
    this.report.errors[kind] = (this.report.errors[kind] ?? 0) + 1;
  }

  private async request(kind: string, addr: string, req: RemotingCommand): Promise<void> {
    try {
      const resp = await this.client.invoke(addr, req, REQUEST_TIMEOUT_MS);
      this.count(kind, resp.code);
    } catch {
      this.error(kind);
    }
  }

  private randomBuffer(length: number): Buffer {
    const bytes = Buffer.alloc(length);
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.rng.int(0, 255);
    return bytes;
  }

  /**
   * A TLS handshake record announcing a ClientHello whose body is random: a TLS port must refuse
   * it, a plain port sees a frame length it refuses.
   */
  private garbageClientHello(): Buffer {
    const body = this.randomBuffer(this.rng.int(64, 512));
    body[0] = 0x01; // handshake type ClientHello
    body.writeUIntBE(body.length - 4, 1, 3);
    const head = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    head.writeUInt16BE(body.length, 3);
    return Buffer.concat([head, body]);
  }

  /** `bytes` on a fresh connection; waits (bounded) until the server closes it or the time is up. */
  private randomBytes(addr: string, kind: string, bytes: Buffer): Promise<void> {
    return new Promise((resolve) => {
      const s = net.connect(split(addr));
      const done = (what: string): void => {
        clearTimeout(timer);
        s.destroy();
        this.count(kind, what);
        resolve();
      };
      const timer = setTimeout(() => done('still-open'), 1000);
      s.once('connect', () => s.write(bytes));
      s.once('close', () => done('closed'));
      s.once('error', () => {});
    });
  }

  /** A connection held open until close(), optionally after writing `first`. */
  private hold(addr: string, first: Buffer | undefined): Promise<void> {
    return new Promise((resolve) => {
      const s = net.connect(split(addr));
      const timer = setTimeout(() => {
        this.error('hold-connect');
        s.destroy();
        resolve();
      }, CONNECT_TIMEOUT_MS);
      s.once('connect', () => {
        clearTimeout(timer);
        if (first !== undefined) s.write(first);
        this.held.push(s);
        resolve();
      });
      s.on('data', () => {});
      s.once('close', () => {
        if (!this.closed) this.report.socketsClosedByServer++;
      });
      s.once('error', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Two connections, each parking many long polls on an empty queue of a topic of its own. */
  private async holdPulls(addr: string): Promise<void> {
    await this.request('send-abuse-topic', addr, sendRequest(ABUSE_TOPIC));
    for (let c = 0; c < 2; c++) {
      const client = new RemotingClient({ connectTimeoutMs: CONNECT_TIMEOUT_MS, maxPendingRequests: this.bounds.heldPullsPerConnection + 10, ...this.tlsOption() });
      this.pullClients.push(client);
      for (let i = 0; i < this.bounds.heldPullsPerConnection; i++) {
        const req = makeRequest(RequestCode.PULL_MESSAGE, {
          consumerGroup: 'jepsen-abuse-group',
          topic: ABUSE_TOPIC,
          queueId: '0',
          queueOffset: '1000000',
          maxMsgNums: '32',
          sysFlag: '2',
          commitOffset: '0',
          suspendTimeoutMillis: '20000',
          subscription: '*',
          subVersion: '0',
          expressionType: 'TAG',
        });
        const p = client.invoke(addr, req, 25_000).then(
          (resp) => this.count('held-pull', resp.code),
          () => this.error('held-pull'),
        );
        this.pending.push(p);
      }
    }
  }
}

function heartbeatBody(group: string, clientId: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      clientID: clientId,
      producerDataSet: [],
      consumerDataSet: [
        {
          groupName: group,
          consumeType: 'CONSUME_PASSIVELY',
          messageModel: 'CLUSTERING',
          consumeFromWhere: 'CONSUME_FROM_LAST_OFFSET',
          unitMode: false,
          subscriptionDataSet: [{ topic: ABUSE_TOPIC, subString: '*', tagsSet: [], codeSet: [], subVersion: 0, expressionType: 'TAG', classFilterMode: false }],
        },
      ],
    }),
  );
}

function sendRequest(topic: string): RemotingCommand {
  return makeRequest(
    RequestCode.SEND_MESSAGE_V2,
    { a: 'jepsen-abuse-producer', b: topic, c: 'TBW102', d: '4', e: '0', f: '0', g: String(Date.now()), h: '0', i: '', j: '0', k: 'false', m: 'false' },
    { body: Buffer.from('abuse') },
  );
}

function offsetRequest(group: string, topic: string): RemotingCommand {
  return makeRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: group, topic, queueId: '0', commitOffset: '1' });
}

/** A frame header announcing 16 MiB, then `bytes` of it; the rest never comes. */
function partialFrame(bytes: number): Buffer {
  const b = Buffer.alloc(4 + bytes);
  b.writeUInt32BE(FRAME_16MIB - 4, 0);
  b.writeUInt32BE(64, 4);
  return b;
}
