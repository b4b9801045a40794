// The `membership` nemesis: online membership changes among the other faults. Each start
// replaces one voter of the group, drawn at random (the leader as likely as any other):
//   - `replace`: a fresh node (new id, data folder and ports) joins as a learner, is promoted
//     once caught up, then the victim is removed (3 → 4 → 3 voters);
//   - `remove-first`: the victim is removed first, then the fresh node is added and promoted
//     (3 → 2 → 3 voters: for a while every remaining voter is needed).
// The stop retires the removed node: its process is stopped for good and it leaves the run's node
// list, so no later fault or heal restarts it and the final digests compare only the members in
// force. Until the stop it keeps running, having learned it was removed, which is when it must
// decide nothing. The fresh node is told every member's own Raft address (not a proxy): the
// links of added nodes are direct, so partitions stay among the first nodes' proxied links.
import { setTimeout as sleep } from 'node:timers/promises';
import { awaitLeader, errorText, Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

export type MemberChangeKind = 'add-learner' | 'promote' | 'remove';

/** What the run lets the membership nemesis do (the cluster db and the admin client). */
export interface MembershipControl {
  /** The configuration in force, from the leader; undefined while none answers. */
  members(): Promise<{ voters: string[]; learners: string[] } | undefined>;
  /** Starts a fresh node joining the group, told the members' Raft addresses; undefined when no port slot is free. */
  startNode(): Promise<{ id: string; raftAddr: string } | undefined>;
  /** One change through the group's leader (RAFT_CHANGE_MEMBERS); resolves once it is in force. */
  change(kind: MemberChangeKind, nodeId: string, address?: string): Promise<void>;
  /** Stops a removed node for good. */
  retireNode(nodeId: string): Promise<void>;
}

/** How long one change is retried (a change in flight, a learner still behind, a leader election). */
const CHANGE_DEADLINE_MS = 30_000;
const RETRY_MS = 250;
const MEMBERS_WAIT_MS = 8_000;

export type MembershipOp = 'replace' | 'remove-first';

export class MembershipNemesis extends Nemesis {
  readonly fault = 'membership';
  /** Removed by the last start, stopped by the stop. */
  private removed: string[] = [];

  constructor(private readonly ops: readonly MembershipOp[] = ['replace', 'replace', 'remove-first']) {
    super();
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    const control = ctx.membership;
    if (control === undefined) return null;
    const leader = await awaitLeader(ctx);
    const members = await membersOf(control);
    if (leader === undefined || members === undefined) return null;
    const steps: FaultDetail[] = [];
    const detail: FaultDetail = { leader, votersBefore: members.voters, steps };
    // A learner left by an earlier start cut short (its promotion never went through) goes first.
    for (const stray of members.learners) {
      await this.step(control, steps, 'remove', stray);
      this.removed.push(stray);
    }
    const victim = ctx.rng.pick(members.voters);
    const op = ctx.rng.pick(this.ops);
    Object.assign(detail, { op, victim, victimWasLeader: victim === leader });
    let fresh: { id: string; raftAddr: string } | undefined;
    try {
      if (op === 'remove-first') {
        await this.step(control, steps, 'remove', victim);
        this.removed.push(victim);
      }
      fresh = await control.startNode();
      if (fresh === undefined) {
        detail['skipped'] = 'no free port slot for a new node';
        return detail;
      }
      detail['added'] = fresh.id;
      await this.step(control, steps, 'add-learner', fresh.id, fresh.raftAddr);
      await this.step(control, steps, 'promote', fresh.id);
      if (op === 'replace') {
        await this.step(control, steps, 'remove', victim);
        this.removed.push(victim);
      }
    } catch (err) {
      detail['error'] = errorText(err);
    }
    const after = await membersOf(control);
    // A fresh node the group never took would hold the final convergence up: it goes too.
    if (fresh !== undefined && after !== undefined && !isDone(after, 'add-learner', fresh.id)) this.removed.push(fresh.id);
    detail['votersAfter'] = after?.voters ?? null;
    detail['learnersAfter'] = after?.learners ?? null;
    return detail;
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const retired: string[] = [];
    const errors: string[] = [];
    for (const id of this.removed) {
      try {
        await ctx.membership?.retireNode(id);
        retired.push(id);
      } catch (err) {
        errors.push(`${id}: ${errorText(err)}`);
      }
    }
    this.removed = [];
    return errors.length === 0 ? { retired } : { retired, errors };
  }

  /** One change, retried while refused for a passing reason, bounded by CHANGE_DEADLINE_MS. */
  private async step(control: MembershipControl, steps: FaultDetail[], kind: MemberChangeKind, nodeId: string, address?: string): Promise<void> {
    const started = Date.now();
    let attempts = 0;
    for (;;) {
      attempts++;
      try {
        await control.change(kind, nodeId, address);
        steps.push({ kind, nodeId, attempts, ms: Date.now() - started });
        return;
      } catch (err) {
        // An earlier attempt may have gone through with its answer lost: the change is done.
        const m = await control.members().catch(() => undefined);
        if (m !== undefined && isDone(m, kind, nodeId)) {
          steps.push({ kind, nodeId, attempts, ms: Date.now() - started, doneDespite: errorText(err) });
          return;
        }
        if (Date.now() - started > CHANGE_DEADLINE_MS) {
          steps.push({ kind, nodeId, attempts, failed: errorText(err) });
          throw err;
        }
        await sleep(RETRY_MS);
      }
    }
  }
}

function isDone(m: { voters: string[]; learners: string[] }, kind: MemberChangeKind, nodeId: string): boolean {
  if (kind === 'add-learner') return m.learners.includes(nodeId) || m.voters.includes(nodeId);
  if (kind === 'promote') return m.voters.includes(nodeId);
  return !m.voters.includes(nodeId) && !m.learners.includes(nodeId);
}

async function membersOf(control: MembershipControl): Promise<{ voters: string[]; learners: string[] } | undefined> {
  const deadline = Date.now() + MEMBERS_WAIT_MS;
  for (;;) {
    const m = await control.members().catch(() => undefined);
    if (m !== undefined || Date.now() >= deadline) return m;
    await sleep(RETRY_MS);
  }
}

export const membership = (): Nemesis => new MembershipNemesis();
