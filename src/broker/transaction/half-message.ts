// The records of RocketMQ's transaction design as this broker writes them. A half (prepared)
// message is parked in RMQ_SYS_TRANS_HALF_TOPIC queue 0 with its real topic and queue in
// REAL_TOPIC / REAL_QID and no transaction bits in its sysFlag, so it takes a slot in the half
// queue (which the check service reads) and never one in the real topic's queue. Every decision
// about a half message is an op record in RMQ_SYS_TRANS_OP_HALF_TOPIC queue 0 whose body names
// the half message: "<kind> <half queue offset> <half physical offset>". A commit's real message
// and its op record travel in ONE Raft entry, so they are stored together or not at all.

import { getProperty, MessageProperty, SysFlag, type MessageRecord } from '../../store/index.js';
import { replaceProperty } from '../delay-rewrite.js';
import { TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../topic-rules.js';

const TRANSACTION_TYPE_MASK = 0xc;
/** The tag of op records (RocketMQ's "d", for done). */
export const OP_TAG = 'd';

/** What an op record says about its half message. */
export const OpKind = {
  COMMIT: 'c',
  ROLLBACK: 'r',
  /** A CHECK_TRANSACTION_STATE was sent (or attempted): counts toward transactionCheckMax. */
  CHECK: 'k',
  /** Checked transactionCheckMax times: copied to TRANS_CHECK_MAX_TIME_TOPIC, never committed. */
  DISCARD: 'x',
} as const;
export type OpKind = (typeof OpKind)[keyof typeof OpKind];

export interface OpRecordBody {
  kind: OpKind;
  halfQueueOffset: number;
  halfPhysicalOffset: number;
}

/** True when a send is a half message: the prepared sysFlag, or TRAN_MSG=true (what producers set with it). */
export function isHalfSend(sysFlag: number, properties: string): boolean {
  if ((sysFlag & TRANSACTION_TYPE_MASK) === SysFlag.TRANSACTION_PREPARED) return true;
  return properties.includes(`${MessageProperty.TRANSACTION_PREPARED}\x01`) && getProperty(properties, MessageProperty.TRANSACTION_PREPARED) === 'true';
}

/** Rewrites a send's record in place into its half message (the real topic and queue go into properties). */
export function toHalfRecord(record: MessageRecord): void {
  let props = record.properties;
  props = replaceProperty(props, MessageProperty.REAL_TOPIC, undefined);
  props = replaceProperty(props, MessageProperty.REAL_QID, undefined);
  if (getProperty(props, MessageProperty.TRANSACTION_PREPARED) !== 'true') props = replaceProperty(props, MessageProperty.TRANSACTION_PREPARED, undefined) + `${MessageProperty.TRANSACTION_PREPARED}\x01true\x02`;
  props += `${MessageProperty.REAL_TOPIC}\x01${record.topic}\x02${MessageProperty.REAL_QID}\x01${record.queueId}\x02`;
  record.properties = props;
  record.topic = TRANS_HALF_TOPIC;
  record.queueId = 0;
  record.sysFlag &= ~TRANSACTION_TYPE_MASK;
}

/** The real topic and queue a half message names, or undefined when it names none. */
export function realDestination(half: MessageRecord): { topic: string; queueId: number } | undefined {
  const topic = getProperty(half.properties, MessageProperty.REAL_TOPIC);
  const qid = Number(getProperty(half.properties, MessageProperty.REAL_QID));
  if (topic === undefined || topic === '' || !Number.isInteger(qid) || qid < 0) return undefined;
  return { topic, queueId: qid };
}

/** The half message as its producer sent it (real topic and queue restored): what a commit stores and a check shows. */
export function restoredRecord(half: MessageRecord, sysFlagType: number, storeHost: { host: string; port: number }, nowMs: number): MessageRecord | undefined {
  const dest = realDestination(half);
  if (dest === undefined) return undefined;
  let props = replaceProperty(half.properties, MessageProperty.REAL_TOPIC, undefined);
  props = replaceProperty(props, MessageProperty.REAL_QID, undefined);
  return {
    ...half,
    topic: dest.topic,
    queueId: dest.queueId,
    queueOffset: 0,
    physicalOffset: -1,
    sysFlag: (half.sysFlag & ~TRANSACTION_TYPE_MASK) | sysFlagType,
    storeTimestamp: nowMs,
    storeHost: storeHost.host,
    storePort: storeHost.port,
    preparedTransactionOffset: half.physicalOffset,
    properties: props,
    body: Buffer.from(half.body),
  };
}

/** A copy of a half message for TRANS_CHECK_MAX_TIME_TOPIC (queue 0), with its REAL_* properties kept. */
export function discardedRecord(half: MessageRecord, storeHost: { host: string; port: number }, nowMs: number): MessageRecord {
  return { ...half, topic: TRANS_CHECK_MAX_TIME_TOPIC, queueId: 0, queueOffset: 0, physicalOffset: -1, storeTimestamp: nowMs, storeHost: storeHost.host, storePort: storeHost.port, body: Buffer.from(half.body) };
}

export function opRecord(op: OpRecordBody, storeHost: { host: string; port: number }, nowMs: number): MessageRecord {
  return {
    topic: TRANS_OP_HALF_TOPIC,
    queueId: 0,
    flag: 0,
    queueOffset: 0,
    physicalOffset: -1,
    sysFlag: 0,
    bornTimestamp: nowMs,
    bornHost: storeHost.host,
    bornPort: storeHost.port,
    storeTimestamp: nowMs,
    storeHost: storeHost.host,
    storePort: storeHost.port,
    reconsumeTimes: 0,
    preparedTransactionOffset: op.halfPhysicalOffset,
    body: Buffer.from(`${op.kind} ${op.halfQueueOffset} ${op.halfPhysicalOffset}`),
    properties: `${MessageProperty.TAGS}\x01${OP_TAG}\x02`,
  };
}

const OP_BODY = /^([crkx]) (0|[1-9][0-9]{0,15}) (0|[1-9][0-9]{0,15})$/;

/** The op an op record's body names, or undefined for a body this broker did not write. */
export function parseOpBody(body: Uint8Array): OpRecordBody | undefined {
  if (body.byteLength > 40) return undefined;
  const m = OP_BODY.exec(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1'));
  if (m === null) return undefined;
  const halfQueueOffset = Number(m[2]);
  const halfPhysicalOffset = Number(m[3]);
  if (!Number.isSafeInteger(halfQueueOffset) || !Number.isSafeInteger(halfPhysicalOffset)) return undefined;
  return { kind: m[1] as OpKind, halfQueueOffset, halfPhysicalOffset };
}
