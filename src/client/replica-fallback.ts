// Requests every node of a broker group can answer (reads served from committed data, and
// offset commits, which followers forward to the Raft leader): tried on the preferred address
// first and then on the group's other nodes when one is unreachable. During a failover the
// NameServer route can still name a master that was just killed; the group's other nodes are
// alive and answer.

import { BrokerUnreachableError } from './client-errors.js';
import type { RouteCache } from './route-cache.js';

export async function withReplicaFallback<T>(routes: RouteCache, brokerName: string, preferred: string, request: (addr: string) => Promise<T>): Promise<T> {
  const others = routes.groupAddrs(brokerName).filter((a) => a !== preferred);
  let lastError: unknown;
  // Bounded by the group's size (3 nodes in practice).
  for (const addr of [preferred, ...others]) {
    try {
      return await request(addr);
    } catch (err) {
      if (!(err instanceof BrokerUnreachableError)) throw err;
      lastError = err;
    }
  }
  throw lastError;
}
