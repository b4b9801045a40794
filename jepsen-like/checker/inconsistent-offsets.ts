// Inconsistent offsets: a queue position must hold one value for everyone, forever. Three ways
// to see it broken:
//   - read-conflict: two reads of one (queue, offset) returned different values (replicas
//     diverged, or a truncated entry was exposed and then replaced);
//   - send-conflict: two ok sends of different values were acknowledged at one (queue, offset);
//   - ack-mismatch: an ok send's acknowledged position was read holding another value, or the
//     value was read only elsewhere while its acknowledged position was never read.
import type { History, MessageValue } from '../history/types.js';
import { acknowledgedPosition, indexHistory } from './history-index.js';
import { ExampleList, positionKey, type CheckResult, type Position } from './result.js';

export type InconsistentKind = 'read-conflict' | 'send-conflict' | 'ack-mismatch';

export interface InconsistentExample {
  kind: InconsistentKind;
  queue: string;
  offset: number;
  /** The values involved: read there (read-conflict), acknowledged there (send-conflict), or
   * [acknowledged value, ...values read there] (ack-mismatch). */
  values: MessageValue[];
  /** For ack-mismatch with the acknowledged position unread: where the value was read. */
  readAt?: Position[];
}

export interface InconsistentOffsetsResult extends CheckResult<InconsistentExample> {
  byKind: Record<InconsistentKind, number>;
}

export function checkInconsistentOffsets(history: History): InconsistentOffsetsResult {
  const { positions, sends, positionsByValue } = indexHistory(history);
  const examples = new ExampleList<InconsistentExample>();
  const byKind: Record<InconsistentKind, number> = { 'read-conflict': 0, 'send-conflict': 0, 'ack-mismatch': 0 };
  const found = (e: InconsistentExample): void => {
    byKind[e.kind]++;
    examples.push(e);
  };

  for (const at of positions.values()) {
    if (at.values.size > 1) found({ kind: 'read-conflict', queue: at.queue, offset: at.offset, values: [...at.values.keys()] });
  }

  const acknowledgedAt = new Map<string, MessageValue>();
  const sendConflicts = new Map<string, Set<MessageValue>>();
  for (const attempt of sends) {
    const ack = acknowledgedPosition(attempt);
    if (ack === undefined) continue;
    const key = positionKey(ack.queue, ack.offset);
    const value = attempt.invoke.value.value;
    const earlier = acknowledgedAt.get(key);
    if (earlier === undefined) acknowledgedAt.set(key, value);
    else if (earlier !== value) {
      const set = sendConflicts.get(key) ?? new Set([earlier]);
      set.add(value);
      sendConflicts.set(key, set);
    }

    const readHere = positions.get(key);
    if (readHere !== undefined) {
      // When the acknowledged value is among several read here, read-conflict already says so.
      if (!readHere.values.has(value)) {
        found({ kind: 'ack-mismatch', queue: ack.queue, offset: ack.offset, values: [value, ...readHere.values.keys()] });
      }
    } else {
      const readElsewhere = positionsByValue.get(value);
      if (readElsewhere !== undefined) {
        found({ kind: 'ack-mismatch', queue: ack.queue, offset: ack.offset, values: [value], readAt: [...readElsewhere.values()] });
      }
    }
  }
  for (const [key, values] of sendConflicts) {
    const [queue, offset] = key.split('\u0000') as [string, string];
    found({ kind: 'send-conflict', queue, offset: Number(offset), values: [...values] });
  }

  const count = byKind['read-conflict'] + byKind['send-conflict'] + byKind['ack-mismatch'];
  return { valid: count === 0, count, examples: examples.items, byKind };
}
