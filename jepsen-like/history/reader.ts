// Reads history.jsonl back into typed records, checking every line against the same rules the
// writer asserts; the first bad line ends the read with a HistoryFormatError naming it. Blank
// lines are skipped (a trailing newline is normal). Invokes left open at the end are allowed: a
// run that stops mid-operation leaves them, and checkers treat them as `info`.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { HistoryFormatError } from './errors.js';
import type { History, HistoryOp } from './types.js';
import { recordProblem, SequenceRules } from './validate.js';

/** Lines longer than this are damage (our records are a few hundred bytes; polls a few KiB). */
export const MAX_HISTORY_LINE_CHARS = 16 * 1024 * 1024;

class LineParser {
  private readonly rules = new SequenceRules();
  readonly ops: HistoryOp[] = [];

  constructor(private readonly source: string) {}

  accept(line: string, lineNumber: number): void {
    if (line.trim().length === 0) return;
    if (line.length > MAX_HISTORY_LINE_CHARS) {
      throw new HistoryFormatError(lineNumber, `line longer than ${MAX_HISTORY_LINE_CHARS} characters`, this.source);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new HistoryFormatError(lineNumber, `not JSON (${(err as Error).message})`, this.source, { cause: err });
    }
    const shapeProblem = recordProblem(raw);
    if (shapeProblem !== undefined) throw new HistoryFormatError(lineNumber, shapeProblem, this.source);
    const op = normalize(raw as HistoryOp);
    const orderProblem = this.rules.accept(op);
    if (orderProblem !== undefined) throw new HistoryFormatError(lineNumber, orderProblem, this.source);
    this.ops.push(op);
  }
}

/** Standalone records may omit `process`; give them the one the recorder writes. */
function normalize(op: HistoryOp): HistoryOp {
  const process: unknown = op.process;
  if (op.f === 'nemesis' && process === undefined) return { ...op, process: 'nemesis' };
  if (op.f === 'final-state' && process === undefined) return { ...op, process: 'final' };
  return op;
}

/** Parses the text of a history file; `source` names it in errors. */
export function parseHistory(text: string, source = '<history>'): History {
  const parser = new LineParser(source);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) parser.accept(lines[i]!, i + 1);
  return parser.ops;
}

/** Reads and parses a history file line by line (no whole-file string for long runs). */
export async function readHistory(path: string): Promise<History> {
  const parser = new LineParser(path);
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const line of lines) parser.accept(line, ++lineNumber);
  } finally {
    lines.close();
  }
  return parser.ops;
}
