// Assertions for programmer errors: they crash loudly instead of being handled, so a broken
// invariant is found where it breaks rather than three layers later.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
