// Replica divergence, judged from the last final-state record (taken after healing, through an
// admin request to every node). Within one Raft group:
//   - replicas that hashed their committed log up to the same index must report the same hash;
//   - replicas at the same commit index must report the same set of ConsumeQueues with the same
//     hashes (a ConsumeQueue is built from the committed log only, so equal logs give equal
//     queues).
// Replicas at different indexes are not compared (a lagging follower is not divergence); they
// are listed under `notCompared` so a harness that forgot to wait for convergence shows it.
// A history without a final-state record is `checked: false` (and valid: nothing to judge).
import type { History, ReplicaState } from '../history/types.js';
import { ExampleList, type CheckResult } from './result.js';

export interface DivergenceExample {
  kind: 'log-hash' | 'consume-queue';
  group: string;
  /** The log index (log-hash) or commit index (consume-queue) the replicas share. */
  index: number;
  /** The ConsumeQueue key, for consume-queue. */
  queue?: string;
  /** node → hash it reported (`null`: it has no such ConsumeQueue). */
  hashes: Record<string, string | null>;
}

export interface DivergenceResult extends CheckResult<DivergenceExample> {
  checked: boolean;
  replicas: number;
  groups: number;
  /** Nodes whose index no other replica of their group shares. */
  notCompared: string[];
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string | number): Map<string | number, T[]> {
  const groups = new Map<string | number, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [item]);
    else list.push(item);
  }
  return groups;
}

export function checkDivergence(history: History): DivergenceResult {
  let replicas: readonly ReplicaState[] | undefined;
  for (const op of history) if (op.f === 'final-state') replicas = op.value.replicas;
  if (replicas === undefined) return { valid: true, checked: false, count: 0, examples: [], replicas: 0, groups: 0, notCompared: [] };

  const examples = new ExampleList<DivergenceExample>();
  let count = 0;
  const lonely = new Set<string>();
  const byGroup = groupBy(replicas, (r) => r.group ?? '');
  for (const [group, members] of byGroup) {
    // Replicas compare their log hashes over the same range only (retention may move the start).
    for (const [range, same] of groupBy(members, (r) => `${r.logHashFromIndex ?? ''}:${r.logHashIndex ?? r.commitIndex}`)) {
      const index = Number(String(range).slice(String(range).indexOf(':') + 1));
      if (same.length < 2) same.forEach((r) => lonely.add(r.node));
      if (new Set(same.map((r) => r.logHash)).size > 1) {
        count++;
        examples.push({ kind: 'log-hash', group: String(group), index: Number(index), hashes: Object.fromEntries(same.map((r) => [r.node, r.logHash])) });
      }
    }
    for (const [index, same] of groupBy(members, (r) => r.commitIndex)) {
      if (same.length < 2) {
        same.forEach((r) => lonely.add(r.node));
        continue;
      }
      const queues = new Set(same.flatMap((r) => Object.keys(r.consumeQueueHashes)));
      for (const queue of [...queues].sort()) {
        const hashes = same.map((r) => (Object.hasOwn(r.consumeQueueHashes, queue) ? r.consumeQueueHashes[queue]! : null));
        if (new Set(hashes).size > 1) {
          count++;
          examples.push({ kind: 'consume-queue', group: String(group), index: Number(index), queue, hashes: Object.fromEntries(same.map((r, i) => [r.node, hashes[i]!])) });
        }
      }
    }
  }
  return { valid: count === 0, checked: true, count, examples: examples.items, replicas: replicas.length, groups: byGroup.size, notCompared: [...lonely].sort() };
}
