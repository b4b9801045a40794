// What the schedule service stores when a delayed message is due: the same message in its
// REAL_TOPIC / REAL_QID with the DELAY property cleared (so it is not parked again) and every
// other property kept, REAL_TOPIC and REAL_QID included, as Apache's schedule service does.
// A fresh store time and this broker's store host, as for any new record.

import { getProperty, MessageProperty, type MessageRecord } from '../../store/index.js';
import { replaceProperty } from '../delay-rewrite.js';

export type DueRecordResult = { ok: true; record: MessageRecord } | { ok: false; reason: string };

export function buildDueRecord(scheduled: MessageRecord, storeTimestamp: number, storeHost: { host: string; port: number }): DueRecordResult {
  const realTopic = getProperty(scheduled.properties, MessageProperty.REAL_TOPIC);
  const realQid = Number(getProperty(scheduled.properties, MessageProperty.REAL_QID));
  if (realTopic === undefined || realTopic === '') return { ok: false, reason: 'the scheduled message has no REAL_TOPIC property' };
  if (!Number.isInteger(realQid) || realQid < 0 || realQid > 0x7fffffff) return { ok: false, reason: 'the scheduled message has no valid REAL_QID property' };
  return {
    ok: true,
    record: {
      ...scheduled,
      topic: realTopic,
      queueId: realQid,
      queueOffset: 0,
      physicalOffset: -1,
      storeTimestamp,
      storeHost: storeHost.host,
      storePort: storeHost.port,
      properties: replaceProperty(scheduled.properties, MessageProperty.DELAY, undefined),
    },
  };
}
