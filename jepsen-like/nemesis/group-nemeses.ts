// Nemeses over several Raft groups. Each named kind gets one instance per group (a nemesis holds
// the state of its fault) and a context scoped to that group: its nodes, its part of the mesh,
// its leader. Each time the kind starts, the seeded generator picks one group, or every group at
// once, so a run sees kills and partitions in each group and in both together. The history keeps
// one start and one stop per fault under the kind's own name; the detail says which groups and
// what was done in each (`groups: { 'broker-a': {...} }`).
import { Nemesis, type FaultDetail, type NemesisContext } from './nemesis.js';

export interface GroupScope {
  /** The group's brokerName. */
  name: string;
  /** The group's context: its nodes, mesh view and leader (history and rng are the wrapper's). */
  ctx: Omit<NemesisContext, 'history' | 'rng'>;
}

export class OverGroups extends Nemesis {
  readonly fault: string;
  private started: { scope: GroupScope; nemesis: Nemesis }[] = [];

  constructor(
    private readonly perGroup: readonly { scope: GroupScope; nemesis: Nemesis }[],
  ) {
    super();
    this.fault = perGroup[0]!.nemesis.fault;
  }

  protected async apply(ctx: NemesisContext): Promise<FaultDetail | null> {
    // G + 1 equally likely choices: one of the groups, or all of them.
    const choice = ctx.rng.int(0, this.perGroup.length);
    const chosen = choice === this.perGroup.length ? this.perGroup : [this.perGroup[choice]!];
    const groups: Record<string, FaultDetail> = {};
    for (const one of chosen) {
      const captured = capture(ctx, one.scope);
      if (await one.nemesis.start(captured.ctx)) {
        this.started.push(one);
        groups[one.scope.name] = captured.detail();
      }
    }
    return this.started.length === 0 ? null : { groups };
  }

  protected async revert(ctx: NemesisContext): Promise<FaultDetail> {
    const groups: Record<string, FaultDetail> = {};
    for (const one of this.started) {
      const captured = capture(ctx, one.scope);
      await one.nemesis.stop(captured.ctx);
      groups[one.scope.name] = captured.detail();
    }
    this.started = [];
    return { groups };
  }
}

/** The group's context whose history record is kept for the wrapper's own record. */
function capture(ctx: NemesisContext, scope: GroupScope): { ctx: NemesisContext; detail: () => FaultDetail } {
  let detail: FaultDetail = {};
  const history: NemesisContext['history'] = {
    nemesis: (_type, _fault, d) => {
      detail = (d ?? {}) as FaultDetail;
      return undefined as never;
    },
  };
  return { ctx: { ...scope.ctx, history, rng: ctx.rng }, detail: () => detail };
}

/**
 * The run's nemeses over several groups: `build()` gives a fresh list of every named kind (the
 * same kinds in the same order each call); kind k becomes one OverGroups of G instances.
 */
export function overGroups(build: () => Nemesis[], scopes: readonly GroupScope[]): Nemesis[] {
  const lists = scopes.map(() => build());
  return lists[0]!.map((_, k) => new OverGroups(scopes.map((scope, g) => ({ scope, nemesis: lists[g]![k]! }))));
}
