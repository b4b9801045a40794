// Unexpected reads: values a consumer read that no client ever tried to send (phantoms: corrupt
// or misattributed messages), and, counted apart, values read whose every send completed `fail`.
// A `fail` promises the send certainly did not happen, so reading it means the client or broker
// classified an outcome wrongly, which would turn into silent duplicates for real users.
import type { History, MessageValue } from '../history/types.js';
import { indexHistory } from './history-index.js';
import { ExampleList, type CheckResult } from './result.js';

export interface UnexpectedExample {
  kind: 'never-sent' | 'failed-send-read';
  value: MessageValue;
  queue: string;
  offset: number;
  process: number | string;
  readTimeMs: number;
}

export interface UnexpectedResult extends CheckResult<UnexpectedExample> {
  /** Distinct values read that no send invoked. */
  neverSentCount: number;
  /** Distinct values read whose sends all completed with `fail`. */
  failedButReadCount: number;
}

export function checkUnexpected(history: History): UnexpectedResult {
  const { sendsByValue, reads } = indexHistory(history);
  const examples = new ExampleList<UnexpectedExample>();
  const seen = new Set<MessageValue>();
  let neverSentCount = 0;
  let failedButReadCount = 0;
  for (const { item, op } of reads) {
    if (seen.has(item.value)) continue;
    seen.add(item.value);
    const attempts = sendsByValue.get(item.value);
    let kind: UnexpectedExample['kind'];
    if (attempts === undefined) {
      kind = 'never-sent';
      neverSentCount++;
    } else if (attempts.every((a) => a.outcome === 'fail')) {
      kind = 'failed-send-read';
      failedButReadCount++;
    } else {
      continue;
    }
    examples.push({ kind, value: item.value, queue: item.queue, offset: item.offset, process: op.process, readTimeMs: op.time });
  }
  const count = neverSentCount + failedButReadCount;
  return { valid: count === 0, count, examples: examples.items, neverSentCount, failedButReadCount };
}
