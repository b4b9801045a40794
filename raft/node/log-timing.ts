// Times the durable log's steps for an owner that exports latencies (RaftNodeOptions.observer).
import type { RaftNodeObserver } from './raft-node-options.js';

/** Runs a log step, telling the observer (if any) how long it took. */
export function timedStep(observer: RaftNodeObserver | undefined, what: 'append' | 'sync', step: () => void, entries = 0): void {
  if (observer === undefined) return step();
  const startedMs = performance.now();
  step();
  const ms = performance.now() - startedMs;
  if (what === 'append') observer.append?.(ms, entries);
  else observer.sync?.(ms);
}
