// The tests' one polling helper: wait, with a bound, until a condition holds (or a value is
// there). Used where no event says the state changed; where one does, tests wait on the event.

const DEFAULT_INTERVAL_MS = 10;

/** Resolves once `cond` holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>, intervalMs = DEFAULT_INTERVAL_MS): Promise<void> {
  await pollFor(what, timeoutMs, async () => ((await cond()) ? true : undefined), intervalMs);
}

/** Resolves with the first value of `probe` that is not undefined; throws naming `what` after `timeoutMs`. */
export async function pollFor<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>, intervalMs = DEFAULT_INTERVAL_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Like `until`, but answers whether the condition held in time instead of throwing. */
export async function eventually(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  return until('a condition', timeoutMs, cond).then(
    () => true,
    () => false,
  );
}

/** What `leaderOf` reads of a Raft node (a RaftNode, or anything with its id and status). */
export interface LeaderCandidate {
  readonly id: string;
  status(): { role: string; leader: string };
}

/**
 * Resolves with the one node among `nodes` that says it leads, once exactly one does; with
 * `agreed`, only once every node also names it as its leader. Throws after `timeoutMs`.
 */
export function leaderOf<N extends LeaderCandidate>(nodes: readonly N[], timeoutMs = 5000, options: { agreed?: boolean } = {}): Promise<N> {
  return pollFor(options.agreed === true ? 'one leader known to all' : 'a single leader', timeoutMs, () => {
    const leaders = nodes.filter((n) => n.status().role === 'leader');
    if (leaders.length !== 1) return undefined;
    const leader = leaders[0]!;
    return options.agreed !== true || nodes.every((n) => n.status().leader === leader.id) ? leader : undefined;
  });
}
