// Where each record of a committed send landed, for its SEND_OK: the payload sits at byte
// `offset` of the committed entry `index` (other sends of its turn may share the entry), so its
// records' physical offsets follow from the entry's position in the log, and their queue offsets
// are read from the dispatched ConsumeQueues.
import type { MmapLogStorage } from '../../raft/index.js';
import { messageIdFromPrefix } from '../common/message/message-id.js';
import { ResponseCode } from '../protocol/response-code.js';
import { checkMessageRecord, type MessageStore } from '../store/index.js';
import type { PutMessagesResult, PutRecordResult } from './broker-context.js';
import { BrokerError } from './broker-errors.js';
import type { PlacedPayload } from './entry-batcher.js';
import { recordHasNoQueue, recordQueueId, recordTopicLengthAt } from '../common/message/record-view.js';

export interface SendResultSources {
  store: MessageStore;
  storage: MmapLogStorage;
  /** storeHost + storePort as message id hex, the fixed half of every offset msgId. */
  msgIdPrefix: string;
}

/** The results of the `recordCount` records of `payload`, placed at `placed`. */
export function placedRecordResults(src: SendResultSources, placed: PlacedPayload, payload: Buffer, recordCount: number): PutMessagesResult {
  const { index, term } = placed;
  if (src.store.dispatchedIndex < index) {
    throw new BrokerError('ERR_BROKER_DISPATCH_FAILED', ResponseCode.SYSTEM_ERROR, `entry ${index} is committed but not dispatched on this node; the message is stored, consumers will see it once dispatch resumes`);
  }
  const loc = src.storage.locate(index);
  if (!loc) throw new BrokerError('ERR_BROKER_DISPATCH_FAILED', ResponseCode.SYSTEM_ERROR, `entry ${index} is committed but no longer in the log`);
  const records: PutRecordResult[] = [];
  const base = loc.payloadPosition + placed.offset;
  // Records of one payload that share a topic and queue got consecutive queue offsets (an entry
  // is dispatched in order and one payload is contiguous in it): only the first of a run is
  // looked up, and the topic is decoded only when its bytes change.
  let topic = '';
  let topicAt = -1;
  let topicBytes = 0;
  let prev: PutRecordResult | undefined;
  // A plain walk, not the messageRecords generator: no iterator or [offset, size] pair per record.
  // Bounded: every record is at least RECORD_FIXED_BYTES long (checkMessageRecord throws otherwise).
  for (let offset = 0, size = 0; offset < payload.length; offset += size) {
    size = checkMessageRecord(payload, offset, payload.length - offset, false);
    const at = recordTopicLengthAt(payload, offset);
    const length = payload[at]!;
    const sameTopic = topicAt >= 0 && length === topicBytes && payload.compare(payload, topicAt + 1, topicAt + 1 + length, at + 1, at + 1 + length) === 0;
    if (!sameTopic) topic = payload.toString('utf8', at + 1, at + 1 + length);
    topicAt = at;
    topicBytes = length;
    const queueId = recordQueueId(payload, offset);
    const physicalOffset = base + offset;
    const noQueue = recordHasNoQueue(payload, offset);
    let queueOffset: number;
    if (noQueue) queueOffset = -1;
    else if (prev !== undefined && sameTopic && prev.queueId === queueId && prev.queueOffset >= 0) queueOffset = prev.queueOffset + 1;
    else queueOffset = src.store.queues.find(topic, queueId)?.queueOffsetOf(physicalOffset) ?? -1;
    prev = { topic, queueId, queueOffset, physicalOffset, msgId: messageIdFromPrefix(src.msgIdPrefix, physicalOffset) };
    records.push(prev);
  }
  if (records.length !== recordCount) throw new Error(`entry ${index} holds ${records.length} records, the caller sent ${recordCount}`);
  return { index, term, records };
}
