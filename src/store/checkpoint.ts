// The store checkpoint and the abort file.
// The checkpoint records how far dispatch got (Raft index and the log byte position after it)
// and when each part was last flushed. It is written whole to a temporary file, fsynced, then
// renamed over the old one, and carries a CRC, so a reader sees either the old or the new one.
// The abort file exists while the store is open: finding it at start means the last run did not
// close cleanly, and recovery must not trust anything newer than the checkpoint.

import { close, closeSync, existsSync, fsync, fsyncSync, open, openSync, readFileSync, renameSync, rmSync, unlink, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from '../common/message/crc32.js';
import { readInt64BE, writeInt64BE } from '../common/message/int64.js';
import { BadCheckpointError } from './store-errors.js';

export interface StoreCheckpoint {
  /** Last Raft index whose entry is fully dispatched into ConsumeQueues and IndexFiles (0: none). */
  dispatchedIndex: number;
  /** Log byte position just past that entry: every CQ/Index entry points below it. */
  dispatchedPhysicalOffset: number;
  logFlushTimestampMs: number;
  consumeQueueFlushTimestampMs: number;
  indexFlushTimestampMs: number;
}

const MAGIC = 0x524d5143; // 'RMQC'
const VERSION = 1;
export const CHECKPOINT_BYTES = 4 + 4 + 8 * 5 + 4;

export function encodeCheckpoint(c: StoreCheckpoint): Buffer {
  const buf = Buffer.alloc(CHECKPOINT_BYTES);
  buf.writeInt32BE(MAGIC, 0);
  buf.writeInt32BE(VERSION, 4);
  writeInt64BE(buf, c.dispatchedIndex, 8);
  writeInt64BE(buf, c.dispatchedPhysicalOffset, 16);
  writeInt64BE(buf, c.logFlushTimestampMs, 24);
  writeInt64BE(buf, c.consumeQueueFlushTimestampMs, 32);
  writeInt64BE(buf, c.indexFlushTimestampMs, 40);
  buf.writeUInt32BE(crc32(buf.subarray(0, CHECKPOINT_BYTES - 4)), CHECKPOINT_BYTES - 4);
  return buf;
}

export function decodeCheckpoint(buf: Buffer, path = 'checkpoint'): StoreCheckpoint {
  if (buf.length !== CHECKPOINT_BYTES) throw new BadCheckpointError(`${path} is ${buf.length} bytes, expected ${CHECKPOINT_BYTES}`);
  if (buf.readInt32BE(0) !== MAGIC || buf.readInt32BE(4) !== VERSION) throw new BadCheckpointError(`${path} has an unknown magic or version`);
  if (buf.readUInt32BE(CHECKPOINT_BYTES - 4) !== crc32(buf.subarray(0, CHECKPOINT_BYTES - 4))) {
    throw new BadCheckpointError(`${path} fails its CRC`);
  }
  const c: StoreCheckpoint = {
    dispatchedIndex: readInt64BE(buf, 8),
    dispatchedPhysicalOffset: readInt64BE(buf, 16),
    logFlushTimestampMs: readInt64BE(buf, 24),
    consumeQueueFlushTimestampMs: readInt64BE(buf, 32),
    indexFlushTimestampMs: readInt64BE(buf, 40),
  };
  if (!(c.dispatchedIndex >= 0) || !(c.dispatchedPhysicalOffset >= 0)) throw new BadCheckpointError(`${path} holds negative progress`);
  return c;
}

/** Reads the checkpoint; undefined when there is none, BadCheckpointError when it is damaged. */
/** Reads the checkpoint file at `path` (store-paths.ts says where it is). */
export function readCheckpoint(path: string): StoreCheckpoint | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeCheckpoint(buf, path);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Replaces the checkpoint atomically and durably (write temp, fsync, rename, fsync dir). */
export function writeCheckpoint(path: string, c: StoreCheckpoint): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const buf = encodeCheckpoint(c);
    writeSync(fd, buf, 0, buf.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * `writeCheckpoint` in libuv's thread pool, for the periodic flush: the temporary file is written
 * and fsynced there; then, back on the event loop, `mayPublish()` decides whether it may replace
 * the checkpoint (false when a synchronous write overtook this one, or the store closed: a
 * newer checkpoint must never be replaced by an older one), and the rename happens right
 * there, synchronously, so no other write can come between the check and the rename. The
 * directory fsync that makes the rename durable runs in the pool again; until it completes a
 * power loss may bring back the previous checkpoint, which claims less and is therefore safe.
 * `done(err, published)` is called once.
 *
 * The temporary file has its own name and is unlinked and created exclusively each time, so a
 * write abandoned by a closed store (its descriptor still open in the pool) can only ever write
 * into an unlinked file, never into the checkpoint a later store published.
 */
export function writeCheckpointInBackground(path: string, c: StoreCheckpoint, mayPublish: () => boolean, done: (err: Error | null, published: boolean) => void): void {
  const tmp = `${path}.background.tmp`;
  const buf = encodeCheckpoint(c);
  const fail = (err: Error | null): void => done(err, false);
  unlink(tmp, (unlinkErr) => {
    if (unlinkErr && unlinkErr.code !== 'ENOENT') return fail(unlinkErr);
    if (!mayPublish()) return fail(null);
    open(tmp, 'wx', (openErr, fd) => {
      if (openErr) return fail(openErr);
      write(fd, buf, 0, buf.length, 0, (writeErr, written) => {
        const err = writeErr ?? (written !== buf.length ? new Error(`short write of ${tmp}: ${written} of ${buf.length} bytes`) : null);
        if (err) return close(fd, () => fail(err));
        fsync(fd, (syncErr) => {
          close(fd, (closeErr) => {
            if (syncErr ?? closeErr) return fail(syncErr ?? closeErr);
            if (!mayPublish()) return fail(null);
            try {
              renameSync(tmp, path);
            } catch (renameErr) {
              return fail(renameErr as Error);
            }
            open(dirname(path), 'r', (dirErr, dirFd) => {
              if (dirErr) return done(dirErr, true);
              fsync(dirFd, (dirSyncErr) => close(dirFd, () => done(dirSyncErr, true)));
            });
          });
        });
      });
    });
  });
}

/** Creates the abort file and returns whether one was already there (the last run crashed). */
export function createAbortFile(path: string): boolean {
  const existed = existsSync(path);
  if (!existed) {
    closeSync(openSync(path, 'w'));
    fsyncDir(dirname(path));
  }
  return existed;
}

/** Removes the abort file: the last step of a clean shutdown. */
export function removeAbortFile(path: string): void {
  rmSync(path, { force: true });
  fsyncDir(dirname(path));
}
