// A nemesis is one kind of fault with a start (inject) and a stop (undo exactly what start did).
// The base class owns the bookkeeping every kind shares: a nemesis is active between a start
// that did something and its stop; both are recorded in the history as nemesis records with the
// same `fault` name, so the checkers can shade the window; a stop also runs after a start that
// failed halfway, so whatever it managed to do is undone.
import assert from 'node:assert/strict';
import type { NodeControl } from '../db/node-control.js';
import type { HistoryRecorder } from '../history/recorder.js';
import type { MeshControl } from '../net/proxy-mesh.js';
import type { SeededRandom } from '../net/seeded-random.js';
import type { AbuseContext } from './abuse-nemesis.js';
import type { MembershipControl } from './membership-nemesis.js';

export interface NemesisContext {
  /** The links of the run's mesh, or of one group's part of it (several groups). */
  mesh: MeshControl;
  nodes: NodeControl;
  /** The node the harness believes leads the Raft group now, or undefined when there is none. */
  leaderOf: () => Promise<string | undefined>;
  history: Pick<HistoryRecorder, 'nemesis'>;
  /** Every random choice of every nemesis; its seed is in the mix summary and the run's results. */
  rng: SeededRandom;
  /**
   * Runs retention (DELETE_EXPIRED_COMMITLOG) on these nodes now; node id → what each deleted
   * or its error. Absent when the run cannot (the retention nemesis then does nothing).
   */
  deleteExpired?: (nodeIds: readonly string[]) => Promise<Record<string, unknown>>;
  /** Addresses and PIDs of every process, for the abuse nemesis; absent when the run cannot. */
  abuse?: AbuseContext;
  /** The brokers' flush mode: how many nodes a power loss may take (a minority under async). */
  flush?: 'async' | 'sync';
  /** Moves leadership to this node (RAFT_TRANSFER_LEADER); absent when the run cannot. */
  transferLeader?: (nodeId: string) => Promise<void>;
  /** Adds, promotes, removes and retires nodes, for the membership nemesis; absent when the run cannot. */
  membership?: MembershipControl;
}

export type FaultDetail = Record<string, unknown>;

/** How long a leader-targeted fault waits for a leader before it gives up for this cycle. */
const LEADER_WAIT_MS = 8_000;
const LEADER_POLL_MS = 200;

/**
 * The current leader, waiting (bounded) while there is none: right after another fault the
 * group may still be electing, and a leader-targeted fault that gave up at once would silently
 * never be injected on a loaded machine. `usable` filters leaders that cannot be targeted
 * (e.g. a node the harness has stopped).
 */
export async function awaitLeader(ctx: NemesisContext, usable: (id: string) => boolean = () => true): Promise<string | undefined> {
  const deadline = Date.now() + LEADER_WAIT_MS;
  for (;;) {
    const leader = await ctx.leaderOf();
    if (leader !== undefined && usable(leader)) return leader;
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_MS));
  }
}

export abstract class Nemesis {
  /** The `fault` name in history records, e.g. `partition-random-halves`. */
  abstract readonly fault: string;
  private active = false;

  /** Injects the fault; null when there is nothing to do now (e.g. no leader to target). */
  protected abstract apply(ctx: NemesisContext): Promise<FaultDetail | null>;
  /** Undoes what apply did (also after apply threw halfway). */
  protected abstract revert(ctx: NemesisContext): Promise<FaultDetail>;

  get isActive(): boolean {
    return this.active;
  }

  /**
   * Starts the fault and records it; false (and no record) when it had nothing to do.
   * `context` is merged into the recorded detail (the mix adds its cycle and seed).
   */
  async start(ctx: NemesisContext, context: FaultDetail = {}): Promise<boolean> {
    assert(!this.active, `${this.fault} started twice without a stop`);
    let detail: FaultDetail | null;
    try {
      detail = await this.apply(ctx);
    } catch (err) {
      // Part of the fault may be in place; record it as started so stop() undoes it and the
      // window shows in the report.
      detail = { error: errorText(err) };
    }
    if (detail === null) return false;
    this.active = true;
    ctx.history.nemesis('start', this.fault, { ...detail, ...context });
    return true;
  }

  /** Undoes the fault and records the stop; a no-op when not active. */
  async stop(ctx: NemesisContext): Promise<void> {
    if (!this.active) return;
    let detail: FaultDetail;
    try {
      detail = await this.revert(ctx);
    } catch (err) {
      detail = { error: errorText(err) };
    }
    this.active = false;
    ctx.history.nemesis('stop', this.fault, detail);
  }
}

export function errorText(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return typeof code === 'string' ? `${code}: ${message}` : message;
}
