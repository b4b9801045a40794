// A stand-in NameServer + broker for measuring the client SDK alone (client-bench.ts): one
// process that routes every topic to itself, acknowledges every send at once, and answers every
// pull with records built once up front. It stores nothing, so its own CPU stays small and the
// client is what saturates. Run as a child: `node dist/src/bench/stub-broker.js`; it prints
// `{"port":N}` once listening and exits when its stdin closes.
import { encodeMessageRecords, patchRecordOffsets, type MessageRecord } from '../common/message/message-record.js';
import { formatProperties } from '../common/message/message-properties.js';
import { RECORD_FIXED_BYTES, RecordOffset } from '../common/message/record-layout.js';
import { createMessageId } from '../common/message/message-id.js';
import { encodeJsonBody, makeResponse, RemotingServer, RequestCode, ResponseCode, type RemotingCommand, type TopicRouteData } from '../protocol/index.js';

const QUEUES = 8;
const BROKER_NAME = 'stub-a';
/** Records a pull answers at most (the records are built once, for this many). */
const MAX_PULL = 1024;
const bodyBytes = Number(process.env['STUB_BODY_BYTES'] ?? 1024);
/** Holds every send acknowledgement this long (a broker's replication latency); 0 answers at once. */
const sendDelayMs = Number(process.env['STUB_SEND_DELAY_MS'] ?? 0);

/** Per queue: next queue offset a send is acknowledged with (bounded: one number per queue id seen). */
const nextOffset = new Map<number, number>();
let physical = 0;

function recordsTemplate(): { buf: Buffer; starts: number[] } {
  const records: MessageRecord[] = [];
  for (let i = 0; i < MAX_PULL; i++) {
    const body = Buffer.alloc(bodyBytes, i & 0xff);
    records.push({
      topic: 'StubTopic',
      queueId: 0,
      flag: 0,
      queueOffset: 0,
      physicalOffset: 0,
      sysFlag: 0,
      bornTimestamp: Date.now(),
      bornHost: '127.0.0.1',
      bornPort: 40000 + i,
      storeTimestamp: Date.now(),
      storeHost: '127.0.0.1',
      storePort: 10911,
      reconsumeTimes: 0,
      preparedTransactionOffset: 0,
      body,
      properties: formatProperties({ UNIQ_KEY: `7F000001${String(i).padStart(24, '0')}`, WAIT: 'true' }),
    });
  }
  const buf = encodeMessageRecords(records);
  const starts: number[] = [];
  for (let p = 0; p < buf.length; p += buf.readInt32BE(p)) starts.push(p);
  return { buf, starts };
}

async function main(): Promise<void> {
  const server = new RemotingServer({ maxInflightPerChannel: 100_000 });
  const { buf: records, starts } = recordsTemplate();
  const recordBytes = starts.length > 1 ? starts[1]! : records.length;
  let addr = '';
  const ok = (req: RemotingCommand, ext: Record<string, string> = {}, body?: Buffer): RemotingCommand => makeResponse(req, ResponseCode.SUCCESS, undefined, ext, body);
  server.registerHandler(RequestCode.GET_ROUTEINFO_BY_TOPIC, (req) => {
    const route: TopicRouteData = {
      brokerDatas: [{ cluster: 'StubCluster', brokerName: BROKER_NAME, brokerAddrs: { '0': addr } }],
      queueDatas: [{ brokerName: BROKER_NAME, readQueueNums: QUEUES, writeQueueNums: QUEUES, perm: 6, topicSysFlag: 0 }],
      filterServerTable: {},
    };
    return ok(req, {}, encodeJsonBody(route));
  });
  const acknowledge = (req: RemotingCommand, count: number): RemotingCommand => {
    const queueId = Number(req.extFields['e'] ?? req.extFields['queueId'] ?? 0);
    const offset = nextOffset.get(queueId) ?? 0;
    nextOffset.set(queueId, offset + count);
    const msgId = createMessageId('127.0.0.1', 10911, physical);
    physical += count * (RECORD_FIXED_BYTES + bodyBytes);
    return ok(req, { msgId, queueId: String(queueId), queueOffset: String(offset) });
  };
  // Delayed acknowledgements leave in batches, one timer per millisecond, like a Raft commit.
  let held: { req: RemotingCommand; resolve: (r: RemotingCommand) => void }[] = [];
  const release = (): void => {
    const batch = held;
    held = [];
    for (const h of batch) h.resolve(acknowledge(h.req, 1));
  };
  server.registerHandler(RequestCode.SEND_MESSAGE_V2, (req) => {
    if (sendDelayMs <= 0) return acknowledge(req, 1);
    if (held.length === 0) setTimeout(release, sendDelayMs);
    return new Promise<RemotingCommand>((resolve) => held.push({ req, resolve }));
  });
  server.registerHandler(RequestCode.SEND_MESSAGE, (req) => acknowledge(req, 1));
  server.registerHandler(RequestCode.SEND_BATCH_MESSAGE, (req) => acknowledge(req, Math.max(1, Math.floor((req.body?.length ?? 0) / (bodyBytes + 60)))));
  server.registerHandler(RequestCode.PULL_MESSAGE, (req) => {
    const queueId = Number(req.extFields['queueId']);
    const from = Number(req.extFields['queueOffset']);
    const n = Math.min(MAX_PULL, Math.max(1, Number(req.extFields['maxMsgNums'])));
    const body = Buffer.from(records.subarray(0, n * recordBytes));
    for (let i = 0; i < n; i++) {
      body.writeInt32BE(queueId, starts[i]! + RecordOffset.QUEUE_ID);
      patchRecordOffsets(body, starts[i]!, from + i, (from + i) * recordBytes);
    }
    return ok(req, { nextBeginOffset: String(from + n), minOffset: '0', maxOffset: String(from + n), suggestWhichBrokerId: '0' }, body);
  });
  for (const code of [RequestCode.HEART_BEAT, RequestCode.UNREGISTER_CLIENT, RequestCode.UPDATE_CONSUMER_OFFSET]) server.registerHandler(code, (req) => ok(req));
  server.registerHandler(RequestCode.GET_MIN_OFFSET, (req) => ok(req, { offset: '0' }));
  const { port } = await server.listen(0);
  addr = `127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
}

await main();
