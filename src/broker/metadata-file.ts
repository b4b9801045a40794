// Writing metadata.json crash-safely (temp file, fsync, rename, fsync of the folder) in two ways:
// at once (shutdown, the incomplete-metadata marker) and in the background (the periodic save).
// The background write serialises the tables a slice of items at a time and awaits each write,
// so a large table never holds the event loop for one long stringify and fsync: Raft heartbeats,
// RAFT_STATUS and client requests run between slices. The output is the same compact JSON that
// JSON.stringify gives, so either writer's file loads the same way.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Array items serialised per write in the background. */
const ITEMS_PER_SLICE = 2_000;

/** Writes `value` as JSON to `file` at once. */
export function writeJsonFileSync(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, JSON.stringify(value));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  syncDirSync(file);
}

function syncDirSync(file: string): void {
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** The JSON text of a top-level object, in slices: arrays `ITEMS_PER_SLICE` items at a time. */
export function* jsonSlices(value: Record<string, unknown>): Generator<string> {
  let first = true;
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const head = `${first ? '{' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (!Array.isArray(v)) {
      yield head + JSON.stringify(v);
      continue;
    }
    yield `${head}[`;
    for (let i = 0; i < v.length; i += ITEMS_PER_SLICE) {
      const slice = JSON.stringify(v.slice(i, i + ITEMS_PER_SLICE));
      // The slice without its brackets, joined to the previous one by a comma.
      yield (i === 0 ? '' : ',') + slice.slice(1, -1);
    }
    yield ']';
  }
  yield first ? '{}' : '}';
}

/**
 * Writes `value` (a snapshot of plain data the caller no longer changes) to `file` in slices,
 * yielding the event loop between writes; same crash safety as writeJsonFileSync. `tmpSuffix`
 * keeps it off the temp file a concurrent synchronous write uses.
 */
export async function writeJsonFileInBackground(file: string, value: Record<string, unknown>, tmpSuffix = '.bg.tmp'): Promise<void> {
  const tmp = `${file}${tmpSuffix}`;
  const fh = await open(tmp, 'w');
  try {
    let pending = '';
    for (const s of jsonSlices(value)) {
      pending += s;
      if (pending.length >= 64 * 1024) {
        await fh.write(pending);
        pending = '';
      }
    }
    if (pending !== '') await fh.write(pending);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
