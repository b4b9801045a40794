// The safety checkers per Raft group, for runs over several groups (queue keys
// `<group>:<topic>/<queueId>`). The checkers over the whole history stay the verdict (a value read
// in two groups is a duplicate only the whole history shows); this view says in which group an
// anomaly lies. Each group's history keeps the sends acknowledged in it (and sends of unknown
// outcome, whose group nobody knows), the reads and assignments of its queues, its replicas in the
// final state, and every nemesis record.
import type { History, HistoryOp, MessageValue, QueueKey } from '../history/types.js';

/** The group a qualified queue key names, or undefined for a one-group key (`jepsen/3`). */
export function groupOfQueue(queue: QueueKey | undefined): string | undefined {
  if (queue === undefined) return undefined;
  const at = queue.indexOf(':');
  return at < 0 ? undefined : queue.slice(0, at);
}

/** The groups a history's queue keys name, sorted (empty for a one-group run). */
export function historyGroups(history: History): string[] {
  const groups = new Set<string>();
  for (const op of history) {
    if (op.f === 'send' && op.type === 'ok') {
      const g = groupOfQueue(op.value.queue);
      if (g !== undefined) groups.add(g);
    }
  }
  return [...groups].sort();
}

/** The part of the history that concerns one group (see the file comment). */
export function groupHistory(history: History, group: string): History {
  const groupOfValue = new Map<MessageValue, string | undefined>();
  for (const op of history) if (op.f === 'send' && op.type === 'ok') groupOfValue.set(op.value.value, groupOfQueue(op.value.queue));
  const mine = (q: QueueKey): boolean => groupOfQueue(q) === group;
  const out: HistoryOp[] = [];
  for (const op of history) {
    switch (op.f) {
      case 'send': {
        const g = groupOfValue.get(op.value.value);
        if (g === undefined || g === group) out.push(op);
        break;
      }
      case 'poll':
      case 'drain':
        out.push(op.value === null ? op : { ...op, value: op.value.filter((item) => mine(item.queue)) });
        break;
      case 'assign': {
        const startOffsets = op.value.startOffsets === undefined ? undefined : Object.fromEntries(Object.entries(op.value.startOffsets).filter(([q]) => mine(q)));
        out.push({ ...op, value: { ...op.value, queues: op.value.queues.filter(mine), ...(startOffsets !== undefined ? { startOffsets } : {}) } });
        break;
      }
      case 'final-state':
        out.push({ ...op, value: { replicas: op.value.replicas.filter((r) => r.group === group) } });
        break;
      default:
        out.push(op);
    }
  }
  return out;
}
