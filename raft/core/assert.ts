// The core's assertion for programmer errors: a broken invariant crashes loudly. The core cannot
// import src/common/assert.ts (raft/ stands alone), so it keeps this one-line twin.
export function assert(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`assertion: ${what}`);
}
