// The `running` marker of the mmap log (run-marker.ts): it tells a restart after a process kill
// (same boot: unsynced writes survived in the page cache) from one after a power loss or OS
// crash (another boot: they may be lost or stale), and keeps that suspicion until a leader has
// confirmed the log. A "crash" abandons the storage without close(), as after kill -9.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realFileLayer } from '../raft/storage/real-file-layer.js';
import { readRunMarker } from '../raft/storage/state-files.js';
import { TempDirs, makeEntries, openLog } from './raft-storage-helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

describe('MmapLogStorage running marker', () => {
  it('trusts the log after a clean close and after a process kill in the same boot', () => {
    const dir = dirs.make();
    const a = openLog(dir, { bootId: 'boot-1' });
    expect(readRunMarker(realFileLayer, dir)).toEqual({ bootId: 'boot-1', recovering: false });
    a.append(makeEntries(1, 5, 1, () => 10));
    a.close();
    expect(existsSync(join(dir, 'running'))).toBe(false);
    const b = openLog(dir, { bootId: 'boot-1' });
    expect(b.mayHaveLostWrites()).toBe(false);
    b.append(makeEntries(6, 5, 1, () => 10)); // then killed: no close
    const c = openLog(dir, { bootId: 'boot-1' });
    expect(c.mayHaveLostWrites()).toBe(false);
    expect(c.lastIndex()).toBe(10);
    c.close();
  });

  it('suspects unsynced writes after an unclean stop in another boot, and keeps suspecting them until markRecovered', () => {
    const dir = dirs.make();
    const a = openLog(dir, { bootId: 'boot-1' });
    a.append(makeEntries(1, 5, 1, () => 10)); // then the power goes: no close
    const b = openLog(dir, { bootId: 'boot-2' });
    expect(b.mayHaveLostWrites()).toBe(true);
    expect(readRunMarker(realFileLayer, dir)).toEqual({ bootId: 'boot-2', recovering: true });
    b.close(); // a clean close does not end the suspicion: the log is unconfirmed yet
    expect(readRunMarker(realFileLayer, dir)).toEqual({ bootId: 'boot-2', recovering: true });
    const c = openLog(dir, { bootId: 'boot-2' });
    expect(c.mayHaveLostWrites()).toBe(true);
    c.markRecovered();
    expect(readRunMarker(realFileLayer, dir)).toEqual({ bootId: 'boot-2', recovering: false });
    c.close();
    const d = openLog(dir, { bootId: 'boot-3' });
    expect(d.mayHaveLostWrites()).toBe(false);
    d.close();
  });
});
