// The mmap log keeps the committed membership configuration in its own small file: durable when
// setMembership returns, read back at open, kept by a reset, and a damaged file is refused.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeStartData } from '../raft/storage/state-files.js';
import { openLog, TempDirs } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('mmap log membership file', () => {
  it('has none until one is saved, then reads it back after a reopen and a reset', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    expect(log.membership()).toBeUndefined();
    log.setMembership({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
    log.close();
    const again = openLog(dir);
    expect(again.membership()).toEqual({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
    again.reset({ index: 100, term: 3, data: encodeStartData(4096) });
    again.close();
    expect(openLog(dir).membership()).toEqual({ index: 7, voters: ['n0', 'n1', 'n3'], learners: ['n4'] });
  });

  it('refuses a damaged membership file with ERR_LOG_STATE_CORRUPT', () => {
    const dir = dirs.make();
    const log = openLog(dir);
    log.setMembership({ index: 2, voters: ['n0'], learners: [] });
    log.close();
    writeFileSync(join(dir, 'membership'), Buffer.from('not a frame'));
    expect(() => openLog(dir)).toThrow(expect.objectContaining({ code: 'ERR_LOG_STATE_CORRUPT' }));
  });
});
