import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MappedFile } from '../raft/storage/mapped-file.js';

describe('MappedFile', () => {
  const dirs: string[] = [];
  afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
  const dir = () => { const d = mkdtempSync(join(tmpdir(), 'mf-')); dirs.push(d); return d; };

  it('writes through the mapping land in the file and survive reopening', () => {
    const path = join(dir(), 'seg');
    const f = MappedFile.open(path, 8192);
    expect(statSync(path).size).toBe(8192);
    f.buffer.write('hello', 4096);
    f.flush(4096, 5);
    f.close();
    expect(readFileSync(path).subarray(4096, 4101).toString()).toBe('hello');
    const g = MappedFile.open(path, 8192);
    expect(g.buffer.subarray(4096, 4101).toString()).toBe('hello');
    g.destroy();
  });

  it('refuses a file larger than the size asked for and sizes that cannot be mapped', () => {
    const path = join(dir(), 'seg');
    MappedFile.open(path, 8192).close();
    expect(() => MappedFile.open(path, 4096)).toThrow(/larger than/);
    expect(() => MappedFile.open(path, 2 ** 31)).toThrow(RangeError);
  });
});
