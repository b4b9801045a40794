// The small files beside the segments: `hardstate` (term, vote, commit), `meta` (where the
// log starts, the application's section of the start record, and the geometry it was written
// with) and `membership` (the committed configuration, once one was). All are replaced atomically and durably: write a temp file, fsync it, rename it over the
// old one, fsync the directory. A frame with a magic, a length and a CRC tells a damaged file
// from a good one. Also here: the layout of `LogStart.data` for this storage.

import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { decodeMembership, encodeMembership, type Membership } from '../core/membership.js';
import type { HardState, LogStart } from '../core/types.js';
import { readU64, writeU64 } from './entry-codec.js';
import type { FileLayer } from './file-layer.js';
import { LogStorageError } from './storage-errors.js';

const HARD_STATE_MAGIC = 0xd1ed4a57;
const META_MAGIC = 0xd1ed3e7a;
const MEMBERSHIP_MAGIC = 0xd1ed3b3b;
/** Version 1: the 48-byte body alone. Version 2 appends the application's start section. */
const META_VERSION_PLAIN = 1;
const META_VERSION_WITH_APP = 2;
const META_BODY_BYTES = 48;
/** Version 2: after the 48 bytes, u32 LE length of the application section, then its bytes. */
const META_APP_LENGTH_BYTES = 4;
const FRAME_OVERHEAD_BYTES = 12;
/** A vote is a node id; anything longer is not one. */
const MAX_VOTE_BYTES = 255;

function frameOf(magic: number, body: Buffer): Buffer {
  const frame = Buffer.alloc(FRAME_OVERHEAD_BYTES + body.length);
  frame.writeUInt32LE(magic, 0);
  frame.writeUInt32LE(body.length, 4);
  body.copy(frame, 8);
  frame.writeUInt32LE(crc32(frame.subarray(0, 8 + body.length)), 8 + body.length);
  return frame;
}

function writeAtomically(layer: FileLayer, dir: string, name: string, magic: number, body: Buffer): void {
  const frame = frameOf(magic, body);
  const tmp = join(dir, `${name}.tmp`);
  layer.writeFileSynced(tmp, frame);
  layer.rename(tmp, join(dir, name));
  layer.fsyncDir(dir);
}

/** The body of a framed file, or undefined when the file does not exist. */
function readChecked(layer: FileLayer, dir: string, name: string, magic: number): Buffer | undefined {
  const path = join(dir, name);
  if (!layer.exists(path)) return undefined;
  const frame = layer.readFile(path);
  const bodyBytes = frame.length >= FRAME_OVERHEAD_BYTES ? frame.readUInt32LE(4) : -1;
  if (
    bodyBytes < 0 ||
    frame.length !== FRAME_OVERHEAD_BYTES + bodyBytes ||
    frame.readUInt32LE(0) !== magic ||
    crc32(frame.subarray(0, 8 + bodyBytes)) !== frame.readUInt32LE(8 + bodyBytes)
  ) {
    throw new LogStorageError('ERR_LOG_STATE_CORRUPT', `${path} is damaged (bad length, magic or CRC)`);
  }
  return frame.subarray(8, 8 + bodyBytes);
}

function hardStateBody(state: HardState): Buffer {
  const vote = Buffer.from(state.vote, 'utf8');
  if (vote.length > MAX_VOTE_BYTES) throw new LogStorageError('ERR_LOG_OUT_OF_RANGE', `vote "${state.vote}" is longer than ${MAX_VOTE_BYTES} bytes`);
  const body = Buffer.alloc(18 + vote.length);
  writeU64(body, 0, state.term);
  writeU64(body, 8, state.commit);
  body.writeUInt16LE(vote.length, 16);
  vote.copy(body, 18);
  return body;
}

export function writeHardState(layer: FileLayer, dir: string, state: HardState): void {
  writeAtomically(layer, dir, 'hardstate', HARD_STATE_MAGIC, hardStateBody(state));
}

/**
 * The slow half of replacing `hardstate` (write and fsync a temp file) in libuv's thread pool;
 * then `install` runs on the event loop with a function that renames the temp file over
 * `hardstate`, or with undefined when something failed; the temp file is removed when it was
 * not renamed. The caller decides there whether the state is still current: a newer term or vote may have been
 * written synchronously meanwhile, and renaming an older state over it would lose it. For a
 * change of commit alone, which can be re-learned: the rename is not followed by a directory
 * fsync, so a power loss may keep the previous (valid) file.
 */
export function writeHardStateInBackground(layer: FileLayer, dir: string, state: HardState, install: (rename: (() => void) | undefined, err: Error | null) => void): void {
  const frame = frameOf(HARD_STATE_MAGIC, hardStateBody(state));
  const tmp = join(dir, 'hardstate.bg.tmp');
  const removeTmp = (): void => {
    try {
      layer.unlink(tmp);
    } catch {
      // Nothing to remove, or it will be replaced by the next write of the same name.
    }
  };
  layer.writeFileSyncedInBackground(tmp, frame, (err) => {
    if (err) {
      removeTmp();
      install(undefined, err);
      return;
    }
    let renamed = false;
    install(() => {
      layer.rename(tmp, join(dir, 'hardstate'));
      renamed = true;
    }, null);
    if (!renamed) removeTmp();
  });
}

export function readHardState(layer: FileLayer, dir: string): HardState | undefined {
  const body = readChecked(layer, dir, 'hardstate', HARD_STATE_MAGIC);
  if (body === undefined) return undefined;
  const voteBytes = body.length >= 18 ? body.readUInt16LE(16) : -1;
  if (voteBytes < 0 || body.length !== 18 + voteBytes) throw new LogStorageError('ERR_LOG_STATE_CORRUPT', `${dir}/hardstate has a bad layout`);
  return { term: readU64(body, 0), commit: readU64(body, 8), vote: body.toString('utf8', 18, 18 + voteBytes) };
}

/** `membership`: u64 LE index of the Config entry, then its payload (membership.ts). */
export function writeMembership(layer: FileLayer, dir: string, m: Membership): void {
  const payload = encodeMembership(m);
  const body = Buffer.alloc(8 + payload.length);
  writeU64(body, 0, m.index);
  body.set(payload, 8);
  writeAtomically(layer, dir, 'membership', MEMBERSHIP_MAGIC, body);
}

/** The saved configuration, or undefined when none was ever saved (the bootstrap peers hold). */
export function readMembership(layer: FileLayer, dir: string): Membership | undefined {
  const body = readChecked(layer, dir, 'membership', MEMBERSHIP_MAGIC);
  if (body === undefined) return undefined;
  const m = body.length > 8 ? decodeMembership(body.subarray(8), readU64(body, 0)) : undefined;
  if (m === undefined) throw new LogStorageError('ERR_LOG_STATE_CORRUPT', `${dir}/membership has a bad layout`);
  return m;
}

export interface LogMeta {
  segmentBytes: number;
  indexSegmentEntries: number;
  startIndex: number;
  startTerm: number;
  /** Global byte position where entry `startIndex + 1` starts. */
  startPosition: number;
  /**
   * Set while a reset is under way: every data and index file predates the new start and must
   * go. Writing the new start with this flag before deleting anything makes a reset atomic.
   */
  wipePending: boolean;
  /**
   * The application's section of the start record (see encodeStartData), opaque here; absent
   * when none was given. Written as meta version 2; without it the file keeps version 1.
   */
  startApp?: Uint8Array | undefined;
}

export function writeMeta(layer: FileLayer, dir: string, meta: LogMeta): void {
  const app = meta.startApp;
  if (app !== undefined && app.length > MAX_START_APP_BYTES) {
    throw new LogStorageError('ERR_LOG_START_TOO_LARGE', `the start record's application section has ${app.length} bytes; at most ${MAX_START_APP_BYTES}`);
  }
  const body = Buffer.alloc(META_BODY_BYTES + (app === undefined ? 0 : META_APP_LENGTH_BYTES + app.length));
  body.writeUInt32LE(app === undefined ? META_VERSION_PLAIN : META_VERSION_WITH_APP, 0);
  writeU64(body, 4, meta.segmentBytes);
  body.writeUInt32LE(meta.indexSegmentEntries, 12);
  writeU64(body, 16, meta.startIndex);
  writeU64(body, 24, meta.startTerm);
  writeU64(body, 32, meta.startPosition);
  body.writeUInt32LE(meta.wipePending ? 1 : 0, 44);
  if (app !== undefined) {
    body.writeUInt32LE(app.length, META_BODY_BYTES);
    body.set(app, META_BODY_BYTES + META_APP_LENGTH_BYTES);
  }
  writeAtomically(layer, dir, 'meta', META_MAGIC, body);
}

export function readMeta(layer: FileLayer, dir: string): LogMeta | undefined {
  const body = readChecked(layer, dir, 'meta', META_MAGIC);
  if (body === undefined) return undefined;
  const version = body.length >= META_BODY_BYTES ? body.readUInt32LE(0) : -1;
  const appBytes = version === META_VERSION_WITH_APP && body.length >= META_BODY_BYTES + META_APP_LENGTH_BYTES ? body.readUInt32LE(META_BODY_BYTES) : -1;
  const plain = version === META_VERSION_PLAIN && body.length === META_BODY_BYTES;
  const withApp = appBytes >= 0 && appBytes <= MAX_START_APP_BYTES && body.length === META_BODY_BYTES + META_APP_LENGTH_BYTES + appBytes;
  if ((!plain && !withApp) || body.readUInt32LE(44) > 1) throw new LogStorageError('ERR_LOG_STATE_CORRUPT', `${dir}/meta has an unknown layout`);
  const meta: LogMeta = {
    segmentBytes: readU64(body, 4),
    indexSegmentEntries: body.readUInt32LE(12),
    startIndex: readU64(body, 16),
    startTerm: readU64(body, 24),
    startPosition: readU64(body, 32),
    wipePending: body.readUInt32LE(44) === 1,
  };
  // A copy: the body is a view of the file's bytes, and the section outlives this read.
  if (withApp) meta.startApp = new Uint8Array(body.subarray(META_BODY_BYTES + META_APP_LENGTH_BYTES));
  return meta;
}

/**
 * Bound on the application's section of a start record. It travels in the meta file and in
 * Raft's Reset message, whose frame the transport caps at `maxFrameBytes` (64 MiB by default):
 * 4 MiB keeps a Reset far below that and cheap to send again on every probe.
 */
export const MAX_START_APP_BYTES = 4 * 1024 * 1024;

/** What `LogStart.data` of this storage carries. */
export interface StartData {
  /** Global byte position where entry `index + 1` starts. */
  position: number;
  /**
   * The application's section, opaque to Raft and to this storage (the message store keeps its
   * per-queue offsets there); undefined when the start record has none.
   */
  app: Uint8Array | undefined;
}

/** Byte 8 of a `LogStart.data` that carries an application section after the position. */
const START_DATA_WITH_APP = 1;

/**
 * LogStart.data of this storage: the 8-byte little-endian position of the first entry, then,
 * when the application gave one, a format byte (1) and the application's section. Exactly 8
 * bytes is the original layout, without a section; it still decodes.
 */
export function encodeStartData(position: number, app?: Uint8Array): Uint8Array {
  const b = Buffer.alloc(app === undefined ? 8 : 9 + app.length);
  writeU64(b, 0, position);
  if (app !== undefined) {
    b[8] = START_DATA_WITH_APP;
    b.set(app, 9);
  }
  return b;
}

/** The position and application section of a start record, or undefined when it is not one of ours. */
export function decodeStartData(start: LogStart): StartData | undefined {
  const d = start.data;
  if (d.length < 8 || (d.length > 8 && d[8] !== START_DATA_WITH_APP) || d.length - 9 > MAX_START_APP_BYTES) return undefined;
  const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const position = readU64(b, 0);
  if (!Number.isSafeInteger(position)) return undefined;
  return { position, app: d.length > 8 ? new Uint8Array(d.subarray(9)) : undefined };
}

const RUN_MARKER_MAGIC = 0xd1ed0b00;
const RUN_MARKER_VERSION = 1;
const RUN_MARKER_NAME = 'running';

/** The `running` file: present from open to clean close (see run-marker.ts). */
export interface RunMarker {
  /** The kernel boot id of the process that opened the log. */
  bootId: string;
  /** The log may have lost or hold stale unsynced entries until a leader confirms it. */
  recovering: boolean;
}

export function writeRunMarker(layer: FileLayer, dir: string, marker: RunMarker): void {
  const id = Buffer.from(marker.bootId, 'utf8');
  const body = Buffer.alloc(10 + id.length);
  body.writeUInt32LE(RUN_MARKER_VERSION, 0);
  body.writeUInt32LE(marker.recovering ? 1 : 0, 4);
  body.writeUInt16LE(id.length, 8);
  id.copy(body, 10);
  writeAtomically(layer, dir, RUN_MARKER_NAME, RUN_MARKER_MAGIC, body);
}

export function readRunMarker(layer: FileLayer, dir: string): RunMarker | undefined {
  const body = readChecked(layer, dir, RUN_MARKER_NAME, RUN_MARKER_MAGIC);
  if (body === undefined) return undefined;
  if (body.length < 10 || body.readUInt32LE(0) !== RUN_MARKER_VERSION || body.length !== 10 + body.readUInt16LE(8)) {
    throw new LogStorageError('ERR_LOG_STATE_CORRUPT', `${dir}/${RUN_MARKER_NAME} has an unknown layout`);
  }
  return { recovering: body.readUInt32LE(4) === 1, bootId: body.subarray(10).toString('utf8') };
}

/** Removes the marker durably (a clean close). */
export function removeRunMarker(layer: FileLayer, dir: string): void {
  const path = join(dir, RUN_MARKER_NAME);
  if (!layer.exists(path)) return;
  layer.unlink(path);
  layer.fsyncDir(dir);
}
