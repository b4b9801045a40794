// What happens to a message the handler could not consume (clustering): CONSUMER_SEND_MSG_BACK to
// the broker that delivered it, so the broker schedules it on %RETRY%<group> (or the DLQ after
// maxReconsumeTimes); if that request fails, the client writes the retry copy itself with the
// properties the broker would have set. False means neither worked: the caller keeps the message.
import { MessageProperty, RETRY_GROUP_TOPIC_PREFIX } from './client-constants.js';
import type { ClientInstance } from './client-instance.js';
import { consumerSendMsgBack } from './broker-api.js';
import type { MessageExt } from './message.js';
import { buildSendRequest, prepareMessage, storedStatus } from './send-request.js';

export async function sendBackForRetry(instance: ClientInstance, group: string, msg: MessageExt, maxReconsumeTimes: number): Promise<boolean> {
  const addr = instance.routes.masterAddr(msg.brokerName) ?? instance.routes.addrFor(msg.brokerName);
  if (addr !== undefined) {
    try {
      await consumerSendMsgBack(instance, addr, group, msg, maxReconsumeTimes);
      return true;
    } catch (err) {
      instance.log.warn({ err, msgId: msg.msgId }, 'send back failed; re-sending to the retry topic');
    }
  }
  return resendToRetryTopic(instance, group, msg, maxReconsumeTimes);
}

async function resendToRetryTopic(instance: ClientInstance, group: string, msg: MessageExt, maxReconsumeTimes: number): Promise<boolean> {
  const retryTopic = RETRY_GROUP_TOPIC_PREFIX + group;
  try {
    const info = await instance.routes.get(retryTopic);
    const mq = info.writeQueues[0];
    const addr = mq === undefined ? undefined : instance.routes.masterAddr(mq.brokerName);
    if (mq === undefined || addr === undefined) return false;
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(msg.properties)) {
      if (k !== MessageProperty.UNIQ_KEY && k !== MessageProperty.MIN_OFFSET && k !== MessageProperty.MAX_OFFSET) props[k] = v;
    }
    props[MessageProperty.RETRY_TOPIC] ??= msg.topic;
    props[MessageProperty.ORIGIN_MESSAGE_ID] ??= msg.msgId;
    props[MessageProperty.RECONSUME_TIME] = String(msg.reconsumeTimes + 1);
    props[MessageProperty.MAX_RECONSUME_TIMES] = String(maxReconsumeTimes);
    props[MessageProperty.DELAY] = String(Math.min(18, 3 + msg.reconsumeTimes));
    // prepareMessage adds a fresh UNIQ_KEY after the copied properties.
    const prepared = prepareMessage({ topic: retryTopic, body: msg.body }, msg.body, Number.POSITIVE_INFINITY, props);
    const req = buildSendRequest(group, mq, prepared, undefined, { reconsumeTimes: msg.reconsumeTimes + 1, maxReconsumeTimes });
    const resp = await instance.invoke(addr, req);
    return storedStatus(resp.code) !== undefined;
  } catch (err) {
    instance.log.warn({ err, msgId: msg.msgId }, 're-send to the retry topic failed; the message will be consumed again');
    return false;
  }
}
