// Queue selection. A QueueSelector picks the queue for ordered sends (same argument → same
// queue, so one key's messages stay in order); the default picker round-robins over writable
// queues, skipping addresses the fault table put out and, on a retry, the group that just failed.
import type { Message, MessageQueue } from './message.js';
import { javaStringHash } from '../common/message/java-hash.js';

export type QueueSelector = (queues: readonly MessageQueue[], msg: Message, arg: unknown) => MessageQueue;

/** Same argument, same queue (while the queue count does not change). */
export const selectByHash: QueueSelector = (queues, _msg, arg) => {
  const h = typeof arg === 'number' && Number.isInteger(arg) ? arg : javaStringHash(String(arg));
  return queues[Math.abs(h % queues.length)]!;
};

export const selectRandom: QueueSelector = (queues) => queues[Math.floor(Math.random() * queues.length)]!;

export class RoundRobinPicker {
  private next = Math.floor(Math.random() * 1024);

  /**
   * Picks a queue whose address `isAvailable` accepts, preferring another group than
   * `avoidBroker`; falls back to the plain round-robin choice when every queue is out.
   */
  pick(queues: readonly MessageQueue[], isAvailable: (mq: MessageQueue) => boolean, avoidBroker?: string): MessageQueue {
    const n = queues.length;
    const start = this.next++ & 0x3fffffff;
    for (let i = 0; i < n; i++) {
      const mq = queues[(start + i) % n]!;
      if (mq.brokerName !== avoidBroker && isAvailable(mq)) return mq;
    }
    for (let i = 0; i < n; i++) {
      const mq = queues[(start + i) % n]!;
      if (isAvailable(mq)) return mq;
    }
    return queues[start % n]!;
  }
}
