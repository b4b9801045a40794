// The shape every checker returns and the bounded example list they fill. Counts are exact;
// examples are the first few, enough for a person to start digging without flooding the report.

export const MAX_EXAMPLES = 10;

export interface CheckResult<E> {
  valid: boolean;
  /** How many anomalies (or, for availability, fault windows) the checker found. */
  count: number;
  /** At most MAX_EXAMPLES of them, in history order unless a checker says otherwise. */
  examples: E[];
}

/** A list that keeps the first `limit` items pushed and drops the rest. */
export class ExampleList<E> {
  readonly items: E[] = [];

  constructor(private readonly limit = MAX_EXAMPLES) {}

  push(example: E): void {
    if (this.items.length < this.limit) this.items.push(example);
  }
}

/** A position in a queue, as a Map key (queue keys never contain NUL). */
export function positionKey(queue: string, offset: number): string {
  return `${queue}\u0000${offset}`;
}

export interface Position {
  queue: string;
  offset: number;
}
