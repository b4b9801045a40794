// RocketMQ's AllocateMessageQueueAveragely: with queues and consumer ids both sorted, consumer i
// gets a contiguous block; the first (queues mod consumers) consumers get one queue more. Every
// consumer computes the same split from the same lists, so together they cover each queue once.
import { compareQueues, type MessageQueue } from './message.js';

export function allocateAveragely(queues: readonly MessageQueue[], consumerIds: readonly string[], self: string): MessageQueue[] {
  const mqAll = [...queues].sort(compareQueues);
  const cidAll = [...new Set(consumerIds)].sort();
  const index = cidAll.indexOf(self);
  if (index < 0 || mqAll.length === 0) return [];
  const mod = mqAll.length % cidAll.length;
  const averageSize =
    mqAll.length <= cidAll.length ? 1 : mod > 0 && index < mod ? Math.floor(mqAll.length / cidAll.length) + 1 : Math.floor(mqAll.length / cidAll.length);
  const startIndex = mod > 0 && index < mod ? index * averageSize : index * averageSize + mod;
  const range = Math.min(averageSize, mqAll.length - startIndex);
  const out: MessageQueue[] = [];
  for (let i = 0; i < range; i++) out.push(mqAll[(startIndex + i) % mqAll.length]!);
  return out;
}
