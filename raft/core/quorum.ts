// Majority arithmetic for a single voter set: the commit index a quorum has matched and the
// outcome of an election tally. Kept apart so property tests can check it in isolation.

/** Votes needed to win among `voters` voters. */
export function majority(voters: number): number {
  if (!(Number.isInteger(voters) && voters > 0)) throw new Error(`assertion: voters must be a positive integer, got ${voters}`);
  return Math.floor(voters / 2) + 1;
}

/**
 * The largest index that at least a majority of `matches` has reached. Sorts `matches` in place
 * (descending) so the caller can hand in a reusable scratch array and allocate nothing.
 */
export function quorumIndex(matches: number[]): number {
  const n = matches.length;
  // Insertion sort: voter sets are tiny (3 or 5), so this beats Array.prototype.sort's overhead.
  for (let i = 1; i < n; i++) {
    const v = matches[i]!;
    let j = i - 1;
    while (j >= 0 && matches[j]! < v) {
      matches[j + 1] = matches[j]!;
      j--;
    }
    matches[j + 1] = v;
  }
  return matches[majority(n) - 1]!;
}

export type VoteOutcome = 'won' | 'lost' | 'pending';

/** Whether `granted` yes-votes and `rejected` no-votes out of `voters` decide an election. */
export function voteOutcome(granted: number, rejected: number, voters: number): VoteOutcome {
  const need = majority(voters);
  if (granted + rejected > voters) throw new Error('assertion: more votes than voters');
  if (granted >= need) return 'won';
  if (rejected > voters - need) return 'lost';
  return 'pending';
}
