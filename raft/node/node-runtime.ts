// The two things RaftNode takes from its surroundings besides storage: time (a clock with
// timers and a "run soon" queue) and a transport. Production uses the system clock and the TCP
// transport; the node simulation (raft/sim/node-sim) injects simulated ones so a seed replays
// a whole cluster run exactly.

import type { Message } from '../core/messages.js';
import type { PeerAddress, TransportStats } from '../transport/tcp-transport.js';

export interface RaftNodeClock {
  /** Milliseconds, as Date.now(). */
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Runs `fn` once the current event and its promise callbacks are done (setImmediate). */
  setImmediate(fn: () => void): void;
}

export const systemClock: RaftNodeClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => {
    setImmediate(fn);
  },
};

/** What RaftNode needs of a transport; TcpTransport is one. */
export interface RaftTransport {
  start(): Promise<void>;
  send(messages: readonly Message[]): void;
  stats(): TransportStats;
  close(): Promise<void>;
  /** Optional: a member added by a membership change, to connect to. */
  addPeer?(p: PeerAddress): void;
}

/** Builds the node's transport; `onMessage` takes every message that arrives for the node. */
export type RaftTransportFactory = (onMessage: (m: Message) => void) => RaftTransport;

// What the transport tells of the peers (when each was last heard), kept beside the clock and transport.
export { PeerContact } from './peer-contact.js';
