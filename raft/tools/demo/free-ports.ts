// Finds a block of consecutive free TCP ports on 127.0.0.1 within a range. Needed because the
// assigned port ranges lie inside Linux's ephemeral range (32768-60999): an outgoing
// connection, or its TIME_WAIT after close, can occupy a port we want to listen on, and a
// client socket without SO_REUSEADDR in TIME_WAIT blocks a later listen on that port.

import { createServer } from 'node:net';

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The first `first + k*count` such that `count` ports from there are free and below `last`. */
export async function findFreePortBlock(first: number, last: number, count: number): Promise<number> {
  for (let base = first; base + count - 1 <= last; base += count) {
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canListen(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports in ${first}..${last}`);
}
