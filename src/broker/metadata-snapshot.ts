// Metadata snapshot entries: the whole replicated tables travel through the Raft log as one or
// more consecutive `metadata-snapshot` control entries, so a replica whose log was reset past the
// deleted head (it never applied what was there) can rebuild its metadata without a separate
// InstallSnapshot RPC. This file owns splitting the tables into entries no larger than a bound,
// reading the parts and the later control entries back from the local log, and the retention
// bound that keeps what a reset replica will need. When to apply and install is the state
// machine's (metadata-state.ts); when to propose is the leader's (snapshot-scheduler.ts).

import { Packr } from 'msgpackr';
import { EntryType } from '../../raft/index.js';
import { assert } from '../common/assert.js';
import { decodeControlEntry, encodeControlEntry, isControlPayload, type ControlCommand, type MetadataSnapshotPart, type MetadataTables } from './control-entry.js';
import { RmqError } from '../common/errors.js';

/** Where the latest whole snapshot sits: its last part's index and the index it is as of. */
export interface SnapshotMark {
  index: number;
  asOfIndex: number;
}

/** The control commands of the local log, for replays that need entries already applied once. */
export interface ControlLog {
  /**
   * The control commands with index in [fromIndex, toIndex), in index order (entries that are
   * not control entries, or do not decode, are left out as dispatch leaves them out), or
   * undefined when part of the range is no longer (or not yet) in the log.
   */
  controlEntries(fromIndex: number, toIndex: number): { index: number; command: ControlCommand }[] | undefined;
}

/** The log as LogControlReader reads it (MmapLogStorage). */
export interface EntryLog {
  firstIndex(): number;
  lastIndex(): number;
  entries(lo: number, hi: number, maxBytes: number): { index: number; type: number; payload: Uint8Array }[];
}

export class MetadataSnapshotTooLargeError extends RmqError<'ERR_BROKER_METADATA_SNAPSHOT_TOO_LARGE'> {
  constructor(message: string) {
    super('ERR_BROKER_METADATA_SNAPSHOT_TOO_LARGE', message);
  }
}

/** Upper bound of everything in a part's entry but its table items (header, keys, counters). */
const ENVELOPE_BYTES = 256;
/** Msgpack headers are at most 5 bytes (str32, array32) and a number at most 9 (float64, int64). */
const HEADER_BYTES_MAX = 5;
const NUMBER_BYTES_MAX = 9;
/** Bytes of the log read per step while replaying control entries. */
const READ_BATCH_BYTES = 8 * 1024 * 1024;
const packr = new Packr({ useRecords: false, mapsAsObjects: true });

const strBytes = (s: string): number => HEADER_BYTES_MAX + Buffer.byteLength(s, 'utf8');

function emptyTables(): MetadataTables {
  return { topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [], acl: [] };
}

/**
 * Encodes `tables` as of `asOfIndex` into consecutive control entries of at most `maxEntryBytes`
 * each (items are packed greedily by an upper bound of their encoded size), to be proposed
 * together as one batch. Throws MetadataSnapshotTooLargeError when one item alone does not fit or
 * more than `maxParts` entries would be needed: the caller logs it and proposes nothing.
 */
export function encodeSnapshotParts(tables: MetadataTables, asOfIndex: number, limits: { maxEntryBytes: number; maxParts: number }): Buffer[] {
  const budget = limits.maxEntryBytes - ENVELOPE_BYTES;
  assert(budget > 0 && limits.maxParts >= 1, `snapshot entry bound ${limits.maxEntryBytes} leaves no room for tables`);
  const parts: MetadataTables[] = [];
  let current = emptyTables();
  let used = 0;
  const add = <K extends Exclude<keyof MetadataTables, 'leader'>>(key: K, item: MetadataTables[K][number], bytes: number): void => {
    if (bytes > budget) throw new MetadataSnapshotTooLargeError(`one ${key} item needs ${bytes} bytes, more than a metadata snapshot entry holds (${budget})`);
    if (used + bytes > budget) {
      parts.push(current);
      if (parts.length >= limits.maxParts) {
        throw new MetadataSnapshotTooLargeError(`the metadata tables need more than ${limits.maxParts} snapshot entries of ${limits.maxEntryBytes} bytes; delete unused topics, groups or offsets`);
      }
      current = emptyTables();
      used = 0;
    }
    (current[key] as MetadataTables[K][number][]).push(item);
    used += bytes;
  };
  if (tables.leader !== null) {
    current.leader = tables.leader;
    used += packr.pack(tables.leader).length;
  }
  // Bounded by the sizes of the tables; each item is measured once.
  for (const t of tables.topics) add('topics', t, packr.pack(t).length);
  for (const g of tables.groups) add('groups', g, packr.pack(g).length);
  for (const a of tables.brokerAddrs) add('brokerAddrs', a, HEADER_BYTES_MAX + strBytes(a[0]) + strBytes(a[1]));
  for (const d of tables.delayOffsets) add('delayOffsets', d, HEADER_BYTES_MAX + 2 * NUMBER_BYTES_MAX);
  for (const o of tables.offsets) add('offsets', o, HEADER_BYTES_MAX + strBytes(o[0]) + strBytes(o[1]) + NUMBER_BYTES_MAX);
  for (const a of tables.acl ?? []) add('acl', a, packr.pack(a).length); // absent in tables of older versions
  parts.push(current);
  return parts.map((t, part) => {
    const entry = encodeControlEntry({ kind: 'metadata-snapshot', asOfIndex, part, parts: parts.length, tables: t });
    assert(entry.length <= limits.maxEntryBytes, `snapshot part ${part} encoded to ${entry.length} bytes, over its bound ${limits.maxEntryBytes}`);
    return entry;
  });
}

/** The tables the parts of one snapshot hold together. */
export function mergeSnapshotParts(parts: readonly MetadataSnapshotPart[]): MetadataTables {
  const out = emptyTables();
  for (const p of parts) {
    out.topics.push(...p.tables.topics);
    out.groups.push(...p.tables.groups);
    out.offsets.push(...p.tables.offsets);
    out.delayOffsets.push(...p.tables.delayOffsets);
    out.brokerAddrs.push(...p.tables.brokerAddrs);
    out.acl.push(...(p.tables.acl ?? []));
    if (p.tables.leader !== null) out.leader = p.tables.leader;
  }
  return out;
}

/**
 * Every part of the snapshot whose last part `last` was committed at `index`, read back from the
 * log (the parts are the entries just before it), or why they cannot be: a part already deleted,
 * or entries there that are not this snapshot's parts in order.
 */
export function collectSnapshotParts(last: MetadataSnapshotPart, index: number, log: ControlLog): MetadataSnapshotPart[] | string {
  assert(last.part === last.parts - 1, `part ${last.part} of ${last.parts} is not a last part`);
  const first = index - last.parts + 1;
  if (last.asOfIndex >= first) return `it is as of index ${last.asOfIndex}, not before its first part at ${first}`;
  if (last.parts === 1) return [last];
  const earlier = log.controlEntries(first, index);
  if (earlier === undefined) return `its parts from index ${first} are no longer in the log`;
  if (earlier.length !== last.parts - 1) return `${earlier.length} control entries precede it at ${first}..${index - 1}, not ${last.parts - 1} parts`;
  const parts: MetadataSnapshotPart[] = [];
  for (let i = 0; i < earlier.length; i++) {
    const e = earlier[i]!;
    const c = e.command;
    if (e.index !== first + i || c.kind !== 'metadata-snapshot' || c.part !== i || c.parts !== last.parts || c.asOfIndex !== last.asOfIndex) {
      return `entry ${e.index} is not part ${i} of the same snapshot`;
    }
    parts.push(c);
  }
  parts.push(last);
  return parts;
}

/**
 * The lowest index retention must keep for the metadata's sake. A replica reset to the leader's
 * first index installs the latest snapshot and re-applies the control entries after its
 * `asOfIndex`, so those must stay. Without a snapshot to offer (none yet, or this replica's own
 * metadata is incomplete) nothing may go: the deleted head would be metadata no reset replica
 * could ever learn. The returned index is never above what must stay; `firstIndex` keeps all.
 */
export function metadataRetainIndex(metadata: { complete: boolean; latestSnapshot: SnapshotMark | undefined }, firstIndex: number): number {
  if (!metadata.complete || metadata.latestSnapshot === undefined) return firstIndex;
  return metadata.latestSnapshot.asOfIndex + 1;
}

/** Reads control entries back from the Raft log (MmapLogStorage). */
export class LogControlReader implements ControlLog {
  constructor(private readonly log: EntryLog) {}

  controlEntries(fromIndex: number, toIndex: number): { index: number; command: ControlCommand }[] | undefined {
    if (fromIndex >= toIndex) return [];
    if (fromIndex < this.log.firstIndex() || toIndex - 1 > this.log.lastIndex()) return undefined;
    const out: { index: number; command: ControlCommand }[] = [];
    let next = fromIndex;
    // Bounded: each round consumes at least one entry.
    while (next < toIndex) {
      const batch = this.log.entries(next, toIndex, READ_BATCH_BYTES);
      if (batch.length === 0) return undefined;
      for (const e of batch) {
        if (e.type === EntryType.Normal && isControlPayload(e.payload)) {
          try {
            out.push({ index: e.index, command: decodeControlEntry(e.payload) });
          } catch {
            // Dispatch skipped it on every replica alike (and logged it then); so does a replay.
          }
        }
        next = e.index + 1;
      }
    }
    return out;
  }
}
