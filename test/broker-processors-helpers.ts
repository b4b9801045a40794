// Test helpers for the further broker processors and the schedule service: registers them on an
// in-process broker (until processors/index.ts lists them, and harmlessly after), replaces any
// schedule service the broker runs with one the test configures, and reads stored records.

import { BrokerController } from '../src/broker/broker-controller.js';
import type { BrokerProcessor, BrokerService } from '../src/broker/broker-context.js';
import { consumerSendBackProcessor } from '../src/broker/processors/consumer-send-back.js';
import { getMinOffsetProcessor } from '../src/broker/processors/min-offset.js';
import { queryMessageProcessor } from '../src/broker/processors/query-message.js';
import { searchOffsetProcessor } from '../src/broker/processors/search-offset.js';
import { sendBatchProcessor } from '../src/broker/processors/send-batch.js';
import { updateTopicProcessor } from '../src/broker/processors/update-topic.js';
import { viewMessageProcessor } from '../src/broker/processors/view-message.js';
import { ScheduleService, type ScheduleServiceOptions } from '../src/broker/schedule/schedule-service.js';
import { decodeMessageRecord, type MessageRecord } from '../src/store/index.js';

export const MY_PROCESSORS: readonly BrokerProcessor[] = [
  sendBatchProcessor,
  consumerSendBackProcessor,
  viewMessageProcessor,
  queryMessageProcessor,
  searchOffsetProcessor,
  getMinOffsetProcessor,
  updateTopicProcessor,
];

/** Registers every processor above that the broker does not serve yet. */
export function registerMyProcessors(b: BrokerController): void {
  for (const p of MY_PROCESSORS) {
    for (const code of p.codes) {
      try {
        b.server.registerHandler(code, (req, channel) => p.handle(b.context, req, channel));
      } catch {
        // Already registered by processors/index.ts: the same processor serves it.
      }
    }
  }
}

/** Stops a schedule service the broker started itself and starts one with `options`. */
export async function replaceScheduleService(b: BrokerController, options: ScheduleServiceOptions): Promise<ScheduleService> {
  const own = (b as unknown as { services?: BrokerService[] }).services ?? [];
  for (const s of own) if (s.name === 'schedule') await s.stop();
  const service = new ScheduleService(b.context, options);
  service.start();
  return service;
}

/** Every record of a topic-queue from `fromOffset` on (decoded; offsets patched in). */
export function readQueue(b: BrokerController, topic: string, queueId: number, fromOffset = 0, max = 256): MessageRecord[] {
  const r = b.context.store.getMessage(topic, queueId, fromOffset, max, 16 * 1024 * 1024);
  return r.messages.map((m) => decodeMessageRecord(m, 0));
}
