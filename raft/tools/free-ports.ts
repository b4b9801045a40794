// The one port finder of the dev tools (local clusters, benches, the Raft demo and the tests): blocks
// of consecutive free TCP ports on 127.0.0.1. Random blocks come from 27000-32000, below Linux's
// ephemeral range (32768-60999), so an outgoing connection or its TIME_WAIT can never be holding
// a port a node is about to bind. The tests bind no fixed port: each takes its blocks from here.
// A range a user chose (bench:raft --base-port) is scanned in order (findFreePortBlock).
import { createServer } from 'node:net';
import { ProcessError } from './process/process-errors.js';

export const PORT_FLOOR = 27000;
export const PORT_CEILING = 32000;
/** Random starting points tried before giving up (each probes one block). */
const MAX_ATTEMPTS = 50;

export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** The ports in `[base, base + count)` that are taken. */
export async function takenPorts(base: number, count: number): Promise<number[]> {
  const taken: number[] = [];
  for (let p = base; p < base + count; p++) if (!(await canListen(p))) taken.push(p);
  return taken;
}

/** A random base in [PORT_FLOOR, PORT_CEILING - count] with `count` consecutive free ports. */
export async function findFreeBlock(count: number): Promise<number> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const base = PORT_FLOOR + Math.floor(Math.random() * (PORT_CEILING - PORT_FLOOR - count));
    if ((await takenPorts(base, count)).length === 0) return base;
  }
  throw new ProcessError('ERR_PROCESS_NO_FREE_PORTS', `found no ${count} consecutive free ports in ${PORT_FLOOR}..${PORT_CEILING} after ${MAX_ATTEMPTS} tries`);
}

/** The first `first + k*count` such that `count` ports from there are free and below `last`. */
export async function findFreePortBlock(first: number, last: number, count: number): Promise<number> {
  // Bounded: at most (last - first) / count blocks are probed.
  for (let base = first; base + count - 1 <= last; base += count) {
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canListen(p);
    if (free) return base;
  }
  throw new ProcessError('ERR_PROCESS_NO_FREE_PORTS', `no ${count} consecutive free ports in ${first}..${last}`);
}
