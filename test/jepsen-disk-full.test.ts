// The disk-full fault: a node's own small file system (a tmpfs the run mounts, as root) filled
// to a few MiB of free space and emptied again, and the nemesis that does it to one node for its
// window, restarting the node at the stop if it stopped itself.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeControl, NodeStatus } from '../jepsen-like/db/node-control.js';
import { emptyDisk, fillDisk, isMountPoint, mountSmallFs, unmountSmallFs } from '../jepsen-like/db/node-fs.js';
import { DISK_FULL_LEAVE_FREE_BYTES, DiskFullNemesis } from '../jepsen-like/nemesis/disk-full-nemesis.js';
import type { NemesisContext } from '../jepsen-like/nemesis/nemesis.js';
import { SeededRandom } from '../jepsen-like/net/seeded-random.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) {
    unmountSmallFs(d);
    rmSync(d, { recursive: true, force: true });
  }
});

describe('a node file system of its own', () => {
  it('is mounted with its size, filled to the free space asked for, emptied, and unmounted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'node-fs-'));
    dirs.push(dir);
    mountSmallFs(dir, 32 * 1024 * 1024);
    expect(isMountPoint(dir)).toBe(true);
    const full = fillDisk(dir, 4 * 1024 * 1024);
    expect(full.totalBytes).toBe(32 * 1024 * 1024);
    expect(full.freeBytes).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(full.freeBytes).toBeGreaterThan(3 * 1024 * 1024);
    const free = emptyDisk(dir);
    expect(free).toBeGreaterThan(31 * 1024 * 1024);
    unmountSmallFs(dir);
    expect(isMountPoint(dir)).toBe(false);
  });

  it('refuses to mount on a folder that does not exist, with a message naming it', () => {
    const dir = join(tmpdir(), 'node-fs-missing-' + process.pid, 'x');
    expect(() => mountSmallFs(dir, 1024 * 1024)).toThrow(/ERR_JEPSEN_NODE_FS|small file system of its own/);
  });
});

describe('the disk-full nemesis', () => {
  function nodes(opts: { stopsItself: boolean; canFill: boolean }): NodeControl & { calls: string[] } {
    const states = new Map<string, NodeStatus>([
      ['n0', 'running'],
      ['n1', 'running'],
    ]);
    const calls: string[] = [];
    const n: NodeControl & { calls: string[] } = {
      calls,
      nodeIds: ['n0', 'n1'],
      status: (id) => states.get(id)!,
      kill: async () => {},
      restart: async (id) => {
        calls.push(`restart ${id}`);
        states.set(id, 'running');
      },
      pause: () => {},
      resume: () => {},
    };
    if (opts.canFill) {
      n.fillDisk = async (id, free) => {
        calls.push(`fill ${id} ${free}`);
        if (opts.stopsItself) states.set(id, 'exited');
        return { freeBytes: free };
      };
      n.emptyDisk = async (id) => {
        calls.push(`empty ${id}`);
        return {};
      };
    }
    return n;
  }
  const ctx = (n: NodeControl): NemesisContext => ({ nodes: n, rng: new SeededRandom(5), history: { nemesis: () => {} } }) as unknown as NemesisContext;

  it('fills one node, empties it at the stop, and restarts it only if it stopped itself', async () => {
    for (const stopsItself of [false, true]) {
      const n = nodes({ stopsItself, canFill: true });
      const nemesis = new DiskFullNemesis();
      expect(await nemesis.start(ctx(n))).toBe(true);
      await nemesis.stop(ctx(n));
      const node = n.calls[0]!.split(' ')[1]!;
      expect(n.calls).toEqual([`fill ${node} ${DISK_FULL_LEAVE_FREE_BYTES}`, `empty ${node}`, ...(stopsItself ? [`restart ${node}`] : [])]);
    }
  });

  it('does nothing when nodes have no file system of their own', async () => {
    const n = nodes({ stopsItself: false, canFill: false });
    expect(await new DiskFullNemesis().start(ctx(n))).toBe(false);
    expect(n.calls).toEqual([]);
  });
});
