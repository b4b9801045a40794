// Feeds the metadata state machine from the Raft log on one replica: control payloads handed
// over by dispatch (decoded, bad ones logged and skipped alike on every replica), the replay at
// start of control entries applied before a crash but not saved, metadata-snapshot parts (read
// back from the log when installing), and the log head: when the log starts past what the
// metadata applied (a reset to the leader's head, or a restart on such a log), the metadata is
// marked incomplete and the marker saved at once.

import type { Logger } from '../common/logger.js';
import { EntryType } from '../../raft/index.js';
import { decodeControlEntry, isControlPayload, type ControlCommand } from './control-entry.js';
import type { MetadataState } from './metadata-state.js';
import { LogControlReader, type EntryLog } from './metadata-snapshot.js';

/** Entries of the log scanned per step when replaying control entries at start. */
const REPLAY_BATCH_BYTES = 8 * 1024 * 1024;

export interface MetadataApplierDeps {
  metadata: MetadataState;
  /** Where the metadata is saved (metadata.json). */
  metadataPath: string;
  log: EntryLog;
  logger: Logger;
  /** A leader announcement was applied or a snapshot installed: readiness may have changed. */
  onReadinessInput: () => void;
}

export class MetadataApplier {
  private readonly metadata: MetadataState;
  private readonly controlLog: LogControlReader;

  constructor(private readonly d: MetadataApplierDeps) {
    this.metadata = d.metadata;
    this.controlLog = new LogControlReader(d.log);
  }

  /**
   * Marks the metadata incomplete when the log starts past what it applied, and saves the marker
   * at once so a crash before the next periodic save keeps it. Cheap: called before every apply.
   */
  noteLogHead(): void {
    const head = this.d.log.firstIndex() - 1;
    const appliedBefore = this.metadata.appliedIndex;
    if (!this.metadata.markIncomplete(head)) return;
    this.d.logger.warn({ appliedIndex: appliedBefore, logStart: head }, 'metadata incomplete: the log starts past entries it never applied; waiting for a metadata snapshot entry');
    try {
      this.metadata.save(this.d.metadataPath);
    } catch (err) {
      this.d.logger.error({ err }, 'saving the incomplete-metadata marker failed; the next save retries');
    }
  }

  /**
   * Control entries between the saved metadata and what the store already dispatched (`to`) were
   * applied before the last shutdown but not saved; the store will not redeliver them.
   */
  replay(to: number): void {
    let next = Math.max(this.metadata.appliedIndex + 1, this.d.log.firstIndex());
    // Bounded: each round consumes at least one entry.
    while (next <= to) {
      const batch = this.d.log.entries(next, to + 1, REPLAY_BATCH_BYTES);
      if (batch.length === 0) break;
      for (const e of batch) {
        if (e.type === EntryType.Normal && isControlPayload(e.payload)) this.applyControl(e.index, e.payload);
        next = e.index + 1;
      }
    }
    this.metadata.skipTo(to);
  }

  /** The dispatcher's hook for a committed Normal entry that is not message records. */
  applyControl(index: number, payload: Uint8Array): void {
    const log = this.d.logger;
    if (!isControlPayload(payload)) {
      log.error({ index, bytes: payload.length }, 'committed entry is neither message records nor a control entry; skipped');
      return;
    }
    let command: ControlCommand;
    try {
      command = decodeControlEntry(payload);
    } catch (err) {
      // Committed data every replica skips alike: logging it keeps the replicas in step.
      log.error({ err, index }, 'committed control entry does not decode; skipped');
      return;
    }
    if (command.kind !== 'metadata-snapshot') {
      if (this.metadata.apply(index, command) && command.kind === 'leader') this.d.onReadinessInput();
      return;
    }
    const outcome = this.metadata.applySnapshotPart(index, command, this.controlLog);
    const fields = { index, asOfIndex: command.asOfIndex, parts: command.parts, missingThrough: this.metadata.incompleteThrough };
    if (outcome === 'installed') {
      log.info(fields, 'metadata snapshot installed: metadata complete again');
      this.d.onReadinessInput();
    } else if (outcome === 'unusable') {
      log.warn({ ...fields, problem: this.metadata.snapshotProblem }, 'metadata snapshot cannot complete this metadata; waiting for a later one');
    } else if (outcome === 'broken') {
      log.error({ ...fields, problem: this.metadata.snapshotProblem }, 'metadata snapshot parts are not whole in the log; skipped');
    }
  }
}
