// What a degraded (but not cut) link does to the bytes it carries: added latency and packet
// loss. TCP never loses bytes inside a stream; a lost packet is retransmitted and everything
// after it waits (head-of-line blocking). So loss is modelled the way an application sees it:
// a "lost" chunk arrives one retransmission timeout later (doubling if the retransmission is
// lost too), and later chunks queue behind it. Dropping the bytes instead would corrupt the
// framing, which no real network does to a TCP stream.
import assert from 'node:assert/strict';
import type { SeededRandom } from './seeded-random.js';

export interface LinkFaults {
  /** Added one-way latency for every chunk. */
  delayMs: number;
  /** Probability that a chunk is lost and has to be retransmitted, in [0, 1). */
  lossProbability: number;
  /** First retransmission timeout of a lost chunk (Linux's minimum RTO is 200 ms). */
  retransmitMs: number;
}

export const NO_LINK_FAULTS: Readonly<LinkFaults> = Object.freeze({ delayMs: 0, lossProbability: 0, retransmitMs: 200 });

/** A retransmission that fails this often in a row means the link is gone, not lossy. */
const MAX_RETRANSMISSIONS = 6;

export function validateLinkFaults(f: LinkFaults): void {
  assert(Number.isFinite(f.delayMs) && f.delayMs >= 0 && f.delayMs <= 60_000, `delayMs out of range: ${f.delayMs}`);
  assert(f.lossProbability >= 0 && f.lossProbability < 1, `lossProbability must be in [0, 1): ${f.lossProbability}`);
  assert(Number.isFinite(f.retransmitMs) && f.retransmitMs > 0 && f.retransmitMs <= 10_000, `retransmitMs out of range: ${f.retransmitMs}`);
}

export function hasLinkFaults(f: LinkFaults): boolean {
  return f.delayMs > 0 || f.lossProbability > 0;
}

/** Extra time a chunk spends on the wire: the delay plus the retransmission timeouts it suffers. */
export function chunkLatencyMs(f: LinkFaults, rng: SeededRandom): { latencyMs: number; losses: number } {
  let latencyMs = f.delayMs;
  let losses = 0;
  if (f.lossProbability > 0) {
    let rtoMs = f.retransmitMs;
    while (losses < MAX_RETRANSMISSIONS && rng.chance(f.lossProbability)) {
      latencyMs += rtoMs;
      rtoMs *= 2;
      losses++;
    }
  }
  return { latencyMs, losses };
}
