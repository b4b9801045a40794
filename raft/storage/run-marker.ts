// Tells a restart after a process kill from one after a power loss or an OS crash. A kill keeps
// every write the process made (they sit in the page cache and reach the disk later); a power
// loss or OS crash drops whatever was not synced, and may bring back older bytes that a later,
// unsynced write had replaced. Only the second matters for a log under async flush, so the log
// writes a `running` marker holding the kernel's boot id when it opens and removes it at a clean
// close: a marker left over from another boot means the unsynced tail cannot be trusted.
//
// The suspicion is itself recorded in the marker (`recovering`) and only cleared once a leader
// has confirmed the log (markRecovered), so a second crash during recovery does not forget it.

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { FileLayer } from './file-layer.js';
import { readRunMarker, removeRunMarker, writeRunMarker } from './state-files.js';

/** Overrides the kernel boot id (tests and fault harnesses simulate a reboot by changing it). */
export const BOOT_ID_ENV = 'RAFT_BOOT_ID';

const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';

/** This boot's id: the override, the environment's, the kernel's, or '' when none is known. */
export function currentBootId(override?: string): string {
  if (override !== undefined && override !== '') return override;
  const fromEnv = process.env[BOOT_ID_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    return readFileSync(BOOT_ID_PATH, 'utf8').trim();
  } catch {
    return '';
  }
}

export interface PreviousStop {
  /** The log was closed cleanly (or never opened with a marker). */
  clean: boolean;
  /** The previous process ran in this boot (a kill, not a power loss), as far as can be told. */
  sameBoot: boolean;
  /** Unsynced writes may be lost or stale: a power loss or OS crash, or an unfinished recovery. */
  mayHaveLostWrites: boolean;
}

/**
 * What the marker in `dir` says of the previous stop. A damaged marker, or a boot id that cannot
 * be read, counts as another boot: the cautious answer costs only a catch-up with the leader.
 */
export function assessPreviousStop(layer: FileLayer, dir: string, bootId: string): PreviousStop {
  let marker: ReturnType<typeof readRunMarker>;
  try {
    marker = readRunMarker(layer, dir);
  } catch {
    return { clean: false, sameBoot: false, mayHaveLostWrites: true };
  }
  if (marker === undefined) return { clean: true, sameBoot: true, mayHaveLostWrites: false };
  const sameBoot = bootId !== '' && marker.bootId === bootId;
  return { clean: false, sameBoot, mayHaveLostWrites: marker.recovering || !sameBoot };
}

/** The marker of one open log: written at open, cleared by markRecovered, removed at clean close. */
export class RunMarker {
  private suspected: boolean;

  private constructor(
    private readonly layer: FileLayer,
    private readonly dir: string,
    readonly bootId: string,
    suspected: boolean,
  ) {
    this.suspected = suspected;
  }

  /** Assesses the previous stop (logging what it found), then writes this run's marker. */
  static open(layer: FileLayer, dir: string, bootIdOverride: string | undefined, log: Logger | undefined, fields: Record<string, unknown>): RunMarker {
    const bootId = currentBootId(bootIdOverride);
    const previous = assessPreviousStop(layer, dir, bootId);
    if (previous.mayHaveLostWrites) {
      log?.warn({ dir, sameBoot: previous.sameBoot, ...fields }, 'raft log was not closed cleanly before a power loss or OS crash (or its recovery from one did not finish): entries written after its last sync may be lost or stale');
    } else if (!previous.clean) {
      log?.info({ dir }, 'raft log was not closed cleanly (process stopped in this boot): its unsynced writes survived in the page cache');
    }
    writeRunMarker(layer, dir, { bootId, recovering: previous.mayHaveLostWrites });
    return new RunMarker(layer, dir, bootId, previous.mayHaveLostWrites);
  }

  get mayHaveLostWrites(): boolean {
    return this.suspected;
  }

  /** Unsynced writes may be lost even in this boot (a failed fdatasync may drop dirty pages). */
  markSuspect(): void {
    if (this.suspected) return;
    writeRunMarker(this.layer, this.dir, { bootId: this.bootId, recovering: true });
    this.suspected = true;
  }

  markRecovered(): void {
    if (!this.suspected) return;
    writeRunMarker(this.layer, this.dir, { bootId: this.bootId, recovering: false });
    this.suspected = false;
  }

  /** A clean stop: nothing unsynced is left to lose. A log still suspected keeps its marker. */
  close(): void {
    if (!this.suspected) removeRunMarker(this.layer, this.dir);
  }
}
