// TEST ONLY — a real-file layer that remembers what was made durable, so that a harness can
// simulate a power loss on real processes: after SIGKILL it calls `revertToDurable(dir)`, which
// puts every file the layer manages back to its synced bytes. Off unless a process is started
// with RMQ_UNSAFE_TEST_LAZY_FS=1 (or a test passes `lazyFileLayer`); such a process prints a loud
// warning on stderr at start-up, because the shadow copies cost a copy of every synced byte.
//
// Next to each file F it manages, the layer keeps one of:
//   F.durable       the durable bytes of F at its durable size, updated by every msync, fdatasync
//                   and fsync of F (only the ranges that changed are written);
//   F.never-synced  an empty marker: F was created and nothing made it durable yet.
// Directory fsync turns the markers of the directory into shadows of F's size full of zeros (the
// name and size are durable, no data is), as SimFileLayer does. Unlike SimFileLayer, renames and
// unlinks are durable at once: the shadows follow them immediately (this mode loses data, not
// names). Files with neither (written by code that does not use the layer) are left alone by the
// revert. The layer hides both kinds of names from `readdir`.

import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Prng } from '../sim/prng.js';
import type { FileLayer, FileSyncCallback, MappedRegion } from './file-layer.js';
import { dirtySectors, keepDirtySectors, SECTOR_BYTES, sameRange, tornKeep } from './power-loss-model.js';
import { realFileLayer } from './real-file-layer.js';

export const LAZY_FS_ENV = 'RMQ_UNSAFE_TEST_LAZY_FS';
export const SHADOW_SUFFIX = '.durable';
export const NEVER_SYNCED_SUFFIX = '.never-synced';
/** The value of LAZY_FS_ENV that selects the unsafe lying-fsync variant. */
export const LYING_FSYNC = 'lying-fsync';
/** Chunk of the copy and compare passes (1 MiB): whole sectors, so a tear decided per sector spans chunks. */
const CHUNK_BYTES = 2048 * SECTOR_BYTES;

const shadowOf = (path: string): string => path + SHADOW_SUFFIX;
const markerOf = (path: string): string => path + NEVER_SYNCED_SUFFIX;
const isHelperName = (name: string): boolean => name.endsWith(SHADOW_SUFFIX) || name.endsWith(NEVER_SYNCED_SUFFIX);

function removeIfPresent(path: string): void {
  rmSync(path, { force: true });
}

/** Creates F.durable for `path` when it has neither helper: a copy of F when F existed before, else a marker. */
function adopt(path: string, existedBefore: boolean): void {
  if (existsSync(shadowOf(path)) || existsSync(markerOf(path))) return;
  if (existedBefore) copyChangedChunks(path, 0, statSync(path).size);
  else writeFileSync(markerOf(path), '');
}

/**
 * Makes [from, to) of the shadow equal to the file, writing only the chunks that differ, and
 * the shadow's size the file's. Reads through descriptors, not the mapping, so holes stay holes
 * and the process's resident memory does not grow.
 */
function copyChangedChunks(path: string, from: number, to: number): void {
  if (!existsSync(path)) return;
  removeIfPresent(markerOf(path));
  const src = openSync(path, 'r');
  const dst = openSync(shadowOf(path), existsSync(shadowOf(path)) ? 'r+' : 'w+');
  try {
    const size = fstatSync(src).size;
    if (fstatSync(dst).size !== size) ftruncateSync(dst, size);
    const a = Buffer.allocUnsafe(CHUNK_BYTES);
    const b = Buffer.allocUnsafe(CHUNK_BYTES);
    const end = Math.min(to, size);
    // Each round moves `at` forward by up to a chunk, so the range bounds it.
    for (let at = from; at < end; ) {
      const n = Math.min(CHUNK_BYTES, end - at);
      readFully(src, a, n, at);
      readFully(dst, b, n, at);
      if (!sameRange(a, b, 0, n)) writeFully(dst, a, n, at);
      at += n;
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/**
 * copyChangedChunks of the whole file through the thread pool, for background syncs: comparing a
 * large file (an IndexFile is hundreds of MiB, mostly holes) takes long enough to stall the event
 * loop. Writes made meanwhile may or may not reach the shadow, as with real write-back. A file
 * deleted meanwhile needs no shadow.
 */
async function copyChangedChunksInBackground(path: string): Promise<void> {
  let src;
  try {
    src = await openFile(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    removeIfPresent(markerOf(path));
    const dst = await openFile(shadowOf(path), existsSync(shadowOf(path)) ? 'r+' : 'w+');
    try {
      const size = (await src.stat()).size;
      if ((await dst.stat()).size !== size) await dst.truncate(size);
      const a = Buffer.allocUnsafe(CHUNK_BYTES);
      const b = Buffer.allocUnsafe(CHUNK_BYTES);
      // Each round moves `at` forward by a chunk, so the size bounds it.
      for (let at = 0; at < size; at += CHUNK_BYTES) {
        const n = Math.min(CHUNK_BYTES, size - at);
        const ra = (await src.read(a, 0, n, at)).bytesRead;
        const rb = (await dst.read(b, 0, n, at)).bytesRead;
        a.fill(0, ra, n);
        b.fill(0, rb, n);
        if (!sameRange(a, b, 0, n)) await dst.write(a, 0, n, at);
      }
    } finally {
      await dst.close();
    }
  } finally {
    await src.close();
  }
  if (!existsSync(path)) removeIfPresent(shadowOf(path)); // unlinked while we copied
}

function readFully(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, buf, done, length - done, position + done);
    if (n === 0) {
      buf.fill(0, done, length); // past the end: what a sparse extension reads
      return;
    }
    done += n;
  }
}

function writeFully(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buf, done, length - done, position + done);
}

class LazyRegion implements MappedRegion {
  readonly buffer: Buffer;

  constructor(
    private readonly path: string,
    private readonly real: MappedRegion,
    /** Test-only `lying-fsync`: the region's syncs succeed without making anything durable. */
    private readonly lies = false,
  ) {
    this.buffer = real.buffer;
  }

  writeAt(src: Uint8Array, srcOffset: number, length: number, fileOffset: number): void {
    this.real.writeAt(src, srcOffset, length, fileOffset);
  }

  msync(offset: number, length: number, sync: boolean): void {
    this.real.msync(offset, length, sync);
    if (sync && !this.lies) copyChangedChunks(this.path, offset, offset + length);
  }

  datasync(): void {
    this.real.datasync();
    if (!this.lies) copyChangedChunks(this.path, 0, Number.MAX_SAFE_INTEGER);
  }

  datasyncInBackground(done: FileSyncCallback): void {
    this.real.datasyncInBackground((err) => {
      if (err !== null || this.lies) done(err);
      else copyChangedChunksInBackground(this.path).then(() => done(null), (copyErr: unknown) => done(copyErr as Error));
    });
  }

  releaseResident(offset: number, length: number): void {
    this.real.releaseResident(offset, length);
  }

  close(): void {
    this.real.close();
  }
}

/** The lazy layer: the real one, plus the shadows described above. */
export const lazyFileLayer: FileLayer = makeLazyLayer(false);

/**
 * TEST ONLY, deliberately unsafe: the lazy layer on a disk that lies about syncing its mapped
 * files (the log segments and indexes): their syncs succeed and make nothing durable, as a drive
 * whose write cache acknowledges flushes it has not done. Small files written whole (Raft's term,
 * vote and commit) stay honest. A power loss then takes acknowledged entries away from a node
 * that still remembers its term: the harness must report the run invalid.
 */
export const lyingFsyncFileLayer: FileLayer = makeLazyLayer(true);

function makeLazyLayer(lies: boolean): FileLayer {
  return {
  mapFile(path: string, sizeBytes: number): MappedRegion {
    const existed = existsSync(path);
    const region = realFileLayer.mapFile(path, sizeBytes);
    adopt(path, existed);
    return new LazyRegion(path, region, lies);
  },
  exists: (path) => realFileLayer.exists(path),
  sizeOf: (path) => realFileLayer.sizeOf(path),
  readdir: (dir) => realFileLayer.readdir(dir).filter((n) => !isHelperName(n)),
  mkdir: (dir) => realFileLayer.mkdir(dir),
  readFile: (path) => realFileLayer.readFile(path),
  writeFileSynced(path: string, data: Uint8Array): void {
    realFileLayer.writeFileSynced(path, data);
    writeFileSync(shadowOf(path), data);
    removeIfPresent(markerOf(path));
  },
  writeFileSyncedInBackground(path: string, data: Uint8Array, done: FileSyncCallback): void {
    const copy = Buffer.from(data);
    realFileLayer.writeFileSyncedInBackground(path, copy, (err) => {
      if (err === null) {
        try {
          writeFileSync(shadowOf(path), copy);
          removeIfPresent(markerOf(path));
        } catch (shadowErr) {
          done(shadowErr as Error);
          return;
        }
      }
      done(err);
    });
  },
  rename(from: string, to: string): void {
    realFileLayer.rename(from, to);
    for (const helper of [shadowOf, markerOf]) {
      if (existsSync(helper(from))) renameSync(helper(from), helper(to));
      else removeIfPresent(helper(to));
    }
  },
  unlink(path: string): void {
    realFileLayer.unlink(path);
    removeIfPresent(shadowOf(path));
    removeIfPresent(markerOf(path));
  },
  fsyncDir(dir: string): void {
    realFileLayer.fsyncDir(dir);
    // As in SimFileLayer: the names of `dir` and the sizes of its files become durable.
    const names = new Set(readdirSync(dir));
    for (const name of names) {
      if (isHelperName(name)) continue;
      const file = join(dir, name);
      const marker = names.has(name + NEVER_SYNCED_SUFFIX);
      if (!marker && !names.has(name + SHADOW_SUFFIX)) continue;
      const size = statSync(file).size;
      if (!marker && statSync(shadowOf(file)).size === size) continue;
      const fd = openSync(shadowOf(file), marker ? 'w' : 'r+');
      try {
        ftruncateSync(fd, size);
      } finally {
        closeSync(fd);
      }
      if (marker) unlinkSync(markerOf(file));
    }
  },
  };
}

let warned = false;

/**
 * The layer a broker or Raft node uses: the lazy one when RMQ_UNSAFE_TEST_LAZY_FS=1 (with a loud
 * warning on stderr, once per process), else the real one. Any other value is refused.
 */
export function fileLayerFromEnv(env: NodeJS.ProcessEnv): FileLayer {
  const value = env[LAZY_FS_ENV];
  if (value === undefined || value === '' || value === '0') return realFileLayer;
  if (value === LYING_FSYNC) {
    process.stderr.write(
      `\n!!! ${LAZY_FS_ENV}=${LYING_FSYNC}: THIS PROCESS'S LOG SYNCS MAKE NOTHING DURABLE (test-only, deliberately unsafe).\n` +
        `!!! A power loss will take acknowledged entries. Never run it outside the harness's self-checks.\n\n`,
    );
    return lyingFsyncFileLayer;
  }
  if (value !== '1') throw new Error(`${LAZY_FS_ENV}=${value} is not understood (1 turns the test-only lazy file layer on, ${LYING_FSYNC} its unsafe variant); unset it`);
  if (!warned) {
    warned = true;
    process.stderr.write(
      `\n!!! ${LAZY_FS_ENV}=1: THIS PROCESS KEEPS SHADOW COPIES OF WHAT IT SYNCS (test-only lazy file layer).\n` +
        `!!! Every sync also copies its bytes; a harness may revert the files to them. Never run it outside power-loss tests.\n\n`,
    );
  }
  return lazyFileLayer;
}

export interface RevertReport {
  filesReverted: number;
  bytesDropped: number;
}

/**
 * Simulates a power loss on the files under `dir` that a lazy-layer process (already killed)
 * managed: each F with a shadow becomes its durable bytes at its durable size, each F that was
 * never synced is removed, orphaned shadows and markers are removed. With `tear`, a random
 * (seeded) prefix of each file's unsynced sectors survives, as in SimFileLayer.powerLoss.
 * Files the layer did not manage are not touched. Never call it while the process runs.
 */
export function revertToDurable(dir: string, opts: { seed?: number; tear?: boolean } = {}): RevertReport {
  const random = opts.tear === true ? new Prng(opts.seed ?? 1) : undefined;
  const report: RevertReport = { filesReverted: 0, bytesDropped: 0 };
  revertDir(dir, random, report);
  return report;
}

function revertDir(dir: string, random: Prng | undefined, report: RevertReport): void {
  // Sorted, so a seed replays the same tears whatever order the directory lists in.
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      revertDir(path, random, report);
      continue;
    }
    if (e.name.endsWith(NEVER_SYNCED_SUFFIX)) {
      const file = path.slice(0, -NEVER_SYNCED_SUFFIX.length);
      if (names.has(e.name.slice(0, -NEVER_SYNCED_SUFFIX.length))) {
        report.bytesDropped += statSync(file).size;
        report.filesReverted++;
        unlinkSync(file);
      }
      unlinkSync(path);
    } else if (e.name.endsWith(SHADOW_SUFFIX)) {
      if (!names.has(e.name.slice(0, -SHADOW_SUFFIX.length))) unlinkSync(path); // F was removed by other code
    } else if (names.has(e.name + SHADOW_SUFFIX)) {
      const dropped = revertFile(path, random);
      if (dropped > 0) report.filesReverted++;
      report.bytesDropped += dropped;
    }
  }
}

/** Rewrites `path` as its shadow (plus a torn prefix of its unsynced sectors); returns the bytes dropped. */
function revertFile(path: string, random: Prng | undefined): number {
  const file = openSync(path, 'r+');
  const shadow = openSync(shadowOf(path), 'r+');
  try {
    const fileBytes = fstatSync(file).size;
    const durableBytes = fstatSync(shadow).size;
    const w = Buffer.allocUnsafe(CHUNK_BYTES);
    const d = Buffer.allocUnsafe(CHUNK_BYTES);
    let keep = 0;
    if (random !== undefined) {
      let dirty = 0;
      forEachChunk(durableBytes, (at, n) => {
        readFully(file, w, n, at);
        readFully(shadow, d, n, at);
        dirty += dirtySectors(w.subarray(0, n), d.subarray(0, n));
      });
      keep = tornKeep(dirty, () => random.next());
    }
    let dropped = Math.max(0, fileBytes - durableBytes);
    forEachChunk(durableBytes, (at, n) => {
      readFully(file, w, n, at);
      readFully(shadow, d, n, at);
      const r = keepDirtySectors(w.subarray(0, n), d.subarray(0, n), keep);
      keep -= r.kept;
      dropped += r.droppedBytes;
      if (r.kept > 0) writeFully(shadow, d, n, at); // the torn prefix is durable now
      if (!sameRange(w, d, 0, n)) writeFully(file, d, n, at);
    });
    if (fileBytes !== durableBytes) ftruncateSync(file, durableBytes);
    return dropped;
  } finally {
    closeSync(file);
    closeSync(shadow);
  }
}

function forEachChunk(size: number, fn: (at: number, n: number) => void): void {
  for (let at = 0; at < size; at += CHUNK_BYTES) fn(at, Math.min(CHUNK_BYTES, size - at));
}

