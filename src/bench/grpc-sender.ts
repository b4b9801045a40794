// `rmq bench --protocol grpc`: the publish half through a broker node's RocketMQ 5 gRPC endpoint
// with Apache's own v5 client (rocketmq-client-nodejs, unmodified), behind the interface the
// produce phase drives, so the figures, latencies and placements are measured the same way as
// for remoting. Each send receipt names its queue and queue offset, so the read-back (our
// remoting PullConsumer, the same store) checks every message where it was acknowledged.
import { Producer as V5Producer } from 'rocketmq-client-nodejs';
import type { Message, SendResult } from '../client/index.js';
import { BenchSetupError } from './bench-errors.js';
import type { MessageSender } from './produce-phase.js';

export interface BenchSender extends MessageSender {
  shutdown(): Promise<void>;
}

/** The v5 client logs to files under ~/logs by default; the bench reports failures itself. */
const quiet = { info() {}, debug() {}, warn() {}, error() {} };

/** A started v5 Producer for `topic` at `endpoint` (host:port of a node's gRPC endpoint). */
export async function startGrpcSender(endpoint: string | undefined, topic: string, requestTimeoutMs: number): Promise<BenchSender> {
  if (endpoint === undefined || endpoint === '') throw new BenchSetupError('the cluster has no gRPC endpoint to publish to (set grpcListenPort on the brokers, or give --grpc-endpoint)');
  const producer = new V5Producer({ endpoints: endpoint, namespace: '', topics: [topic], requestTimeout: requestTimeoutMs, logger: quiet });
  try {
    await producer.startup();
  } catch (err) {
    throw new BenchSetupError(`the v5 producer did not start against the gRPC endpoint ${endpoint}: ${(err as Error).message}`, { cause: err });
  }
  return {
    async send(m: Message): Promise<SendResult> {
      const body = typeof m.body === 'string' ? Buffer.from(m.body) : m.body;
      const r = await producer.send({ topic: m.topic, body });
      const mq = r.messageQueue;
      return { status: 'SEND_OK', msgId: r.messageId, offsetMsgId: '', topic: m.topic, brokerName: mq.broker.name, queueId: mq.queueId, queueOffset: Number(r.offset) };
    },
    sendBatch(): Promise<SendResult> {
      // v5 clients send one message per request here; runBench refuses --batch > 1 before this.
      return Promise.reject(new BenchSetupError('--protocol grpc sends one message per request; leave --batch at 1'));
    },
    shutdown: () => producer.shutdown(),
  };
}
