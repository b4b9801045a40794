// Latency-based fault avoidance, per broker address (RocketMQ keys it by broker name; with Raft
// groups a leader change changes the address, so the address is what went bad). A failed send
// puts the address out of rotation for failureBackoffMs; a slow one for a time that grows with
// its latency, following RocketMQ's latency → back-off table scaled down for fast failover.
import { performance } from 'node:perf_hooks';

const LATENCY_STEPS_MS = [50, 100, 550, 1000, 2000, 3000, 15_000] as const;
const BACKOFF_STEPS_MS = [0, 0, 3000, 6000, 12_000, 18_000, 60_000] as const;
/** Addresses tracked at most (a bound for clients that meet many brokers over time). */
const MAX_ITEMS = 4096;

export class LatencyFaultTolerance {
  private readonly unavailableUntilMs = new Map<string, number>();

  constructor(
    private readonly enabled: boolean,
    private readonly failureBackoffMs: number,
  ) {}

  /** Records one send's latency, or a failure (`failed`), for addr. */
  update(addr: string, latencyMs: number, failed: boolean): void {
    if (!this.enabled) return;
    let backoffMs = 0;
    if (failed) backoffMs = this.failureBackoffMs;
    else {
      for (let i = LATENCY_STEPS_MS.length - 1; i >= 0; i--) {
        if (latencyMs >= LATENCY_STEPS_MS[i]!) {
          backoffMs = BACKOFF_STEPS_MS[i]!;
          break;
        }
      }
    }
    if (backoffMs === 0) {
      if (this.unavailableUntilMs.size > 0) this.unavailableUntilMs.delete(addr);
      return;
    }
    this.unavailableUntilMs.set(addr, performance.now() + backoffMs);
    if (this.unavailableUntilMs.size > MAX_ITEMS) {
      const oldest = this.unavailableUntilMs.keys().next().value;
      if (oldest !== undefined) this.unavailableUntilMs.delete(oldest);
    }
  }

  isAvailable(addr: string): boolean {
    if (this.unavailableUntilMs.size === 0) return true;
    const until = this.unavailableUntilMs.get(addr);
    if (until === undefined) return true;
    if (performance.now() >= until) {
      this.unavailableUntilMs.delete(addr);
      return true;
    }
    return false;
  }

  /** When was addr marked? For choosing the least bad address when all are out. */
  availableAtMs(addr: string): number {
    return this.unavailableUntilMs.get(addr) ?? 0;
  }
}
