// Parses a DLedger-style peer list, `n0-127.0.0.1:40911;n1-127.0.0.1:40912;...`, into peer
// addresses, with errors a person can act on (which item, what is wrong with it).

import type { PeerAddress } from '../transport/tcp-transport.js';
import { RaftNodeError } from './errors.js';

const ID_PATTERN = /^[A-Za-z0-9_]+$/;
const MAX_PEERS = 64;

export function parsePeers(text: string): PeerAddress[] {
  const items = text.split(';').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw bad(`peer list "${text}" is empty; expected "n0-host:port;n1-host:port;..."`);
  if (items.length > MAX_PEERS) throw bad(`peer list has ${items.length} peers; at most ${MAX_PEERS} are supported`);
  const out: PeerAddress[] = [];
  const ids = new Set<string>();
  const addresses = new Set<string>();
  for (const item of items) {
    const dash = item.indexOf('-');
    if (dash <= 0) throw bad(`peer "${item}" has no id; expected "<id>-<host>:<port>"`);
    const id = item.slice(0, dash);
    const address = item.slice(dash + 1);
    if (!ID_PATTERN.test(id)) throw bad(`peer id "${id}" may only use letters, digits and _`);
    const colon = address.lastIndexOf(':');
    if (colon <= 0) throw bad(`peer "${item}" has no host:port after the id`);
    const host = address.slice(0, colon);
    const portText = address.slice(colon + 1);
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw bad(`peer "${item}" has port "${portText}"; expected 1..65535`);
    if (ids.has(id)) throw bad(`peer id "${id}" appears twice`);
    if (addresses.has(`${host}:${port}`)) throw bad(`address ${host}:${port} appears twice`);
    ids.add(id);
    addresses.add(`${host}:${port}`);
    out.push({ id, host, port });
  }
  return out;
}

/** The inverse of parsePeers. */
export function formatPeers(peers: readonly PeerAddress[]): string {
  return peers.map((p) => `${p.id}-${p.host}:${p.port}`).join(';');
}

function bad(message: string): RaftNodeError {
  return new RaftNodeError('ERR_RAFT_BAD_PEERS', message);
}
