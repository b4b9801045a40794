// RaftNode's small plumbing: timing the durable log's steps for an owner that exports latencies
// (RaftNodeOptions.observer), counting leader changes, building the default TCP transport.
import type { Logger } from 'pino';
import type { Message } from '../core/messages.js';
import type { LogStorage } from '../storage/log-storage.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import type { BackgroundSyncStorage, RaftNodeObserver, RaftNodeOptions } from './raft-node-options.js';

/** Runs a log step, telling the observer (if any) how long it took. */
export function timedStep(observer: RaftNodeObserver | undefined, what: 'append' | 'sync', step: () => void, entries = 0): void {
  if (observer === undefined) return step();
  const startedMs = performance.now();
  step();
  const ms = performance.now() - startedMs;
  if (what === 'append') observer.append?.(ms, entries);
  else observer.sync?.(ms);
}

/** Syncs the log, in the thread pool when the storage can; `done` hears a background sync's end. */
export function timedPeriodicSync(storage: LogStorage & BackgroundSyncStorage, observer: RaftNodeObserver | undefined, done: (err: Error | null) => void): void {
  if (!storage.syncInBackground) return timedStep(observer, 'sync', () => storage.sync());
  const startedMs = performance.now();
  storage.syncInBackground((err) => {
    if (!err) observer?.sync?.(performance.now() - startedMs);
    done(err);
  });
}

/** Counts changes of the group's leader from one known leader to another (for metrics). */
export class LeaderChangeCounter {
  count = 0;
  /** The last leader this node knew (not cleared by an election). */
  private last = '';

  seen(leader: string): void {
    if (leader === '' || leader === this.last) return;
    if (this.last !== '') this.count++;
    this.last = leader;
  }
}

/** The default transport: TCP to `o.peers`, with the options' bounds, peer secrets and TLS. */
export function tcpTransportFor(o: RaftNodeOptions, logger: Logger, onMessage: (m: Message) => void, acceptUnknownPeers?: () => boolean): TcpTransport {
  return new TcpTransport({
    id: o.id,
    peers: o.peers,
    logger,
    onMessage,
    ...(acceptUnknownPeers !== undefined ? { acceptUnknownPeers } : {}),
    ...(o.maxQueuedFrames !== undefined ? { maxQueuedFrames: o.maxQueuedFrames } : {}),
    ...(o.maxQueuedBytes !== undefined ? { maxQueuedBytes: o.maxQueuedBytes } : {}),
    ...(o.peerSecrets !== undefined ? { peerSecrets: o.peerSecrets } : {}),
    ...(o.tls !== undefined ? { tls: o.tls } : {}),
  });
}
