// QUERY_MESSAGE (12): messages of a topic by key (KEYS or UNIQ_KEY) stored within a time range,
// from the IndexFile. Any replica answers (the index is built from committed data only). The
// body is the matching records back to back; the extFields say how far the index reaches.

import { checkTopicName } from '../../common/names.js';
import { headerOptInt, headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

/** Apache's maxMsgsNumBatch: the most messages one query returns. */
export const QUERY_MAX_NUM = 64;
/** Apache's defaultQueryMaxNum, used for a unique-key lookup. */
const UNIQUE_KEY_QUERY_MAX_NUM = 32;

function indexLastUpdate(ctx: BrokerContext): { timestamp: number; physicalOffset: number } {
  const physicalOffset = ctx.store.index.lastPhysicalOffset();
  if (physicalOffset < 0) return { timestamp: 0, physicalOffset: 0 };
  try {
    return { timestamp: ctx.store.storeTimestampAt(physicalOffset), physicalOffset };
  } catch {
    return { timestamp: 0, physicalOffset };
  }
}

function handleQueryMessage(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  const topic = headerString(req.extFields, 'topic');
  const key = headerString(req.extFields, 'key');
  let maxNum = headerOptInt(req.extFields, 'maxNum', QUERY_MAX_NUM);
  const beginMs = headerOptInt(req.extFields, 'beginTimestamp', 0);
  const endMs = headerOptInt(req.extFields, 'endTimestamp', Number.MAX_SAFE_INTEGER);
  checkTopicName(topic);
  if (maxNum <= 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `maxNum ${maxNum} must be at least 1 (at most ${QUERY_MAX_NUM} messages are returned)`);
  if (beginMs > endMs) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `beginTimestamp ${beginMs} is after endTimestamp ${endMs}; swap them`);
  if (headerOptString(req.extFields, '_UNIQUE_KEY_QUERY') === 'true') maxNum = UNIQUE_KEY_QUERY_MAX_NUM;
  maxNum = Math.min(maxNum, QUERY_MAX_NUM);

  const found = ctx.store.queryByKey(topic, key, maxNum, beginMs, endMs);
  const last = indexLastUpdate(ctx);
  const ext = { indexLastUpdateTimestamp: String(last.timestamp), indexLastUpdatePhyoffset: String(last.physicalOffset) };
  if (found.messages.length === 0) {
    return makeResponse(req, ResponseCode.QUERY_NOT_FOUND, `no message of topic ${topic} with key ${key} was stored between ${beginMs} and ${endMs}; check the key and the time range`, ext);
  }
  return makeResponse(req, ResponseCode.SUCCESS, undefined, ext, Buffer.concat(found.messages));
}

export const queryMessageProcessor: BrokerProcessor = {
  name: 'query-message',
  codes: [RequestCode.QUERY_MESSAGE],
  handle: handleQueryMessage,
};
