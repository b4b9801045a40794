// TEST ONLY — deliberately unsafe behaviour the jepsen-like harness switches on to prove it can
// catch a broken broker. Off unless the environment variable RMQ_UNSAFE_TEST_FAULT names a fault;
// the name says "unsafe" so nobody sets it by accident, and a broker that has it prints a loud
// warning on stderr at start-up. Faults:
//   ack-before-commit  answer SEND_OK as soon as the leader handed the entry to Raft (it is
//                      appended locally on the next turn), without waiting for a quorum to commit
//                      it. A leader cut off from its followers then acknowledges writes that a
//                      new leader overwrites: acknowledged messages are lost.
import { createMessageId } from '../common/message/message-id.js';
import { messageRecords } from '../common/message/message-record.js';
import { recordQueueId, recordTopicLengthAt } from '../common/message/record-view.js';
import type { PutMessagesResult, PutRecordResult } from './broker-context.js';

export const UNSAFE_TEST_FAULT_ENV = 'RMQ_UNSAFE_TEST_FAULT';
export type UnsafeTestFault = 'ack-before-commit';
const KNOWN_FAULTS: readonly string[] = ['ack-before-commit'];

/** How long an ack-before-commit send waits for a real commit before answering anyway. */
const EARLY_ACK_MS = 5;

export function unsafeTestFaultFrom(env: NodeJS.ProcessEnv): UnsafeTestFault | undefined {
  const value = env[UNSAFE_TEST_FAULT_ENV];
  if (value === undefined || value === '') return undefined;
  if (!KNOWN_FAULTS.includes(value)) throw new Error(`${UNSAFE_TEST_FAULT_ENV}=${value} is not a known test fault (known: ${KNOWN_FAULTS.join(', ')}); unset it`);
  return value as UnsafeTestFault;
}

/** The loud warning a broker with a fault switched on prints at start-up. */
export function warnUnsafeTestFault(fault: UnsafeTestFault): void {
  process.stderr.write(
    `\n!!! ${UNSAFE_TEST_FAULT_ENV}=${fault}: THIS BROKER IS DELIBERATELY UNSAFE (test-only fault switch).\n` +
      `!!! It acknowledges messages that may be lost. Never run it outside the jepsen-like harness tests.\n\n`,
  );
}

/**
 * ack-before-commit: resolves with the committed result if the commit comes within a few
 * milliseconds (or rejects if the proposal is refused that fast), else with a result that claims
 * success without queue offsets (queueOffset -1) while the proposal may never commit.
 */
export function unsafeAckBeforeCommit(
  commit: Promise<PutMessagesResult>,
  payload: Buffer,
  storeHost: { host: string; port: number },
): Promise<PutMessagesResult> {
  return new Promise<PutMessagesResult>((resolve, reject) => {
    const timer = setTimeout(() => resolve(unconfirmedResult(payload, storeHost)), EARLY_ACK_MS);
    commit.then(
      (r) => {
        clearTimeout(timer);
        resolve(r);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err); // a no-op once the early answer went out: nobody waits any more
      },
    );
  });
}

function unconfirmedResult(payload: Buffer, storeHost: { host: string; port: number }): PutMessagesResult {
  const records: PutRecordResult[] = [];
  for (const [offset] of messageRecords(payload)) {
    const topicAt = recordTopicLengthAt(payload, offset);
    const topic = payload.toString('utf8', topicAt + 1, topicAt + 1 + payload[topicAt]!);
    const queueId = recordQueueId(payload, offset);
    records.push({ topic, queueId, queueOffset: -1, physicalOffset: -1, msgId: createMessageId(storeHost.host, storeHost.port, 0) });
  }
  return { index: -1, term: -1, records };
}
