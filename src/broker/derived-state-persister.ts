// Makes what a node derived from its committed log durable: the store's ConsumeQueues, index and
// checkpoint, and the metadata tables. Periodically in the background (the save must not hold the
// event loop that serves Raft heartbeats and clients), and at once before retention deletes a
// head segment, so a restart never needs a segment that is gone.
import type { Logger } from '../common/logger.js';
import type { MessageStore } from '../store/index.js';
import type { MetadataState } from './metadata-state.js';

export interface DerivedStateSources {
  store: MessageStore;
  metadata: MetadataState;
  metadataPath: string;
  log: Logger;
  /** After close nothing is written any more (close saves last itself). */
  isClosed: () => boolean;
}

export class DerivedStatePersister {
  constructor(private readonly s: DerivedStateSources) {}

  /** Flushes and saves now, on the event loop (before a head deletion). */
  persistNow(): void {
    if (this.s.isClosed()) return;
    try {
      this.s.store.flush(Date.now());
      if (this.s.metadata.dirty) this.s.metadata.save(this.s.metadataPath);
    } catch (err) {
      this.s.log.error({ err }, 'flushing the store or metadata failed');
    }
  }

  /** The periodic save: the store's flush in the thread pool, the metadata written in slices. */
  persistInBackground(): void {
    if (this.s.isClosed()) return;
    try {
      this.s.store.flushInBackground(Date.now(), (err) => err && this.s.log.error({ err }, 'flushing the store failed'));
      if (this.s.metadata.dirty) this.s.metadata.saveInBackground(this.s.metadataPath).catch((err: unknown) => this.s.log.error({ err }, 'saving metadata failed'));
    } catch (err) {
      this.s.log.error({ err }, 'flushing the store or metadata failed');
    }
  }
}
