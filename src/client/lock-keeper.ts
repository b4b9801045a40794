// The orderly consumer's side of the broker's queue locks (LOCK_BATCH_MQ 41 / UNLOCK_BATCH_MQ
// 42): lock requests go to each broker group's master (brokerId 0; a follower would relay). A
// lock is trusted for `lockMaxLiveTimeMs` (30 s, half the broker's 60 s expiry) counted from when
// the request that won or renewed it was SENT, so it lapses here before the broker (or a new
// leader, which pauses one expiry period) could give it to another client (docs/client.md).
import { encodeJsonBody, makeRequest, MASTER_ID, RequestCode, ResponseCode } from '../protocol/index.js';
import { BrokerResponseError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { queueKey, type MessageQueue } from './message.js';
import { parseBody } from './namesrv-client.js';

function byBroker(mqs: readonly MessageQueue[]): Map<string, MessageQueue[]> {
  const out = new Map<string, MessageQueue[]>();
  for (const mq of mqs) {
    let list = out.get(mq.brokerName);
    if (list === undefined) out.set(mq.brokerName, (list = []));
    list.push(mq);
  }
  return out;
}

function body(group: string, clientId: string, mqs: readonly MessageQueue[]): Buffer {
  return encodeJsonBody({ consumerGroup: group, clientId, mqSet: mqs.map((q) => ({ topic: q.topic, brokerName: q.brokerName, queueId: q.queueId })) });
}

/**
 * Asks each broker group's master to lock (or renew) `mqs` for `clientId`; resolves the keys
 * (queueKey) now held. A group that cannot be asked holds nothing for us: its queues are absent.
 */
export async function lockQueues(instance: ClientInstance, group: string, mqs: readonly MessageQueue[]): Promise<Set<string>> {
  const held = new Set<string>();
  await Promise.all(
    [...byBroker(mqs)].map(async ([brokerName, list]) => {
      const addr = instance.routes.addrFor(brokerName, MASTER_ID);
      if (addr === undefined) return;
      try {
        const req = makeRequest(RequestCode.LOCK_BATCH_MQ, {}, { body: body(group, instance.clientId, list) });
        const resp = await instance.invoke(addr, req);
        if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
        const ok = parseBody<{ lockOKMQSet?: MessageQueue[] }>(resp, 'lock answer').lockOKMQSet ?? [];
        for (const q of ok) held.add(queueKey(q));
      } catch (err) {
        instance.log.debug({ err, brokerName }, 'queue lock request failed; the queues count as not held');
      }
    }),
  );
  return held;
}

/** Releases `mqs` (best effort: an unreleased lock expires on the broker). */
export async function unlockQueues(instance: ClientInstance, group: string, mqs: readonly MessageQueue[]): Promise<void> {
  await Promise.all(
    [...byBroker(mqs)].map(async ([brokerName, list]) => {
      const addr = instance.routes.addrFor(brokerName, MASTER_ID);
      if (addr === undefined) return;
      await instance.invoke(addr, makeRequest(RequestCode.UNLOCK_BATCH_MQ, {}, { body: body(group, instance.clientId, list) })).catch(() => undefined);
    }),
  );
}
