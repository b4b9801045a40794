// The rules a history record obeys, checked in one place for both sides: the recorder asserts
// them on write (a violation is our bug) and the reader turns them into a typed error naming the
// line on read (a violation is a damaged file). `recordProblem` checks one record's shape;
// `SequenceRules` checks what spans records: increasing index, non-decreasing time, and the
// invoke/completion pairing per process.
import type { HistoryOp, ProcessId } from './types.js';

type Json = Record<string, unknown>;

function isObject(x: unknown): x is Json {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isFiniteNumber(x: unknown): x is number {
  return typeof x === 'number' && Number.isFinite(x);
}

function isOffset(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

function isMessageValue(x: unknown): boolean {
  return (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'string';
}

function isProcess(x: unknown): x is ProcessId {
  return (typeof x === 'number' && Number.isSafeInteger(x)) || (typeof x === 'string' && x.length > 0);
}

function sendValueProblem(op: Json): string | undefined {
  const v = op['value'];
  if (!isObject(v)) return 'send value must be an object {value, queue?, offset?, msgId?, txn?}';
  if (!isMessageValue(v['value'])) return 'send value.value must be a number or a string';
  if (v['queue'] !== undefined && typeof v['queue'] !== 'string') return 'send value.queue must be a string';
  if (v['offset'] !== undefined && !isOffset(v['offset'])) return 'send value.offset must be a non-negative integer';
  if (v['msgId'] !== undefined && typeof v['msgId'] !== 'string') return 'send value.msgId must be a string';
  if (v['txn'] !== undefined && v['txn'] !== 'commit' && v['txn'] !== 'rollback') return "send value.txn must be 'commit' or 'rollback'";
  if (op['type'] === 'ok' && typeof v['queue'] !== 'string') return 'an ok send must name its queue';
  const attempts = op['attempts'];
  if (attempts !== undefined && !(Number.isSafeInteger(attempts) && (attempts as number) >= 1)) {
    return 'attempts must be a positive integer';
  }
  return undefined;
}

function readValueProblem(op: Json): string | undefined {
  const v = op['value'];
  if (v === null || v === undefined) {
    return op['type'] === 'ok' ? `an ok ${String(op['f'])} must carry the list of messages read` : undefined;
  }
  if (!Array.isArray(v)) return `${String(op['f'])} value must be a list of {queue, offset, value} or null`;
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    if (!isObject(item) || typeof item['queue'] !== 'string' || !isOffset(item['offset']) || !isMessageValue(item['value'])) {
      return `${String(op['f'])} item ${i} must be {queue: string, offset: non-negative integer, value: number|string}`;
    }
  }
  return undefined;
}

function nemesisProblem(op: Json): string | undefined {
  const v = op['value'];
  if (!isObject(v)) return 'nemesis value must be an object {kind, fault, detail?}';
  if (v['kind'] !== 'start' && v['kind'] !== 'stop') return "nemesis value.kind must be 'start' or 'stop'";
  if (typeof v['fault'] !== 'string' || v['fault'].length === 0) return 'nemesis value.fault must be a non-empty string';
  return undefined;
}

function assignProblem(op: Json): string | undefined {
  const v = op['value'];
  if (!isObject(v) || !Array.isArray(v['queues']) || !v['queues'].every((q) => typeof q === 'string')) {
    return 'assign value must be {queues: string[], startOffsets?}';
  }
  const starts = v['startOffsets'];
  if (starts !== undefined && (!isObject(starts) || !Object.values(starts).every(isOffset))) {
    return 'assign value.startOffsets must map queues to non-negative integers';
  }
  return undefined;
}

function finalStateProblem(op: Json): string | undefined {
  const v = op['value'];
  if (!isObject(v) || !Array.isArray(v['replicas'])) return 'final-state value must be {replicas: [...]}';
  for (let i = 0; i < v['replicas'].length; i++) {
    const r: unknown = v['replicas'][i];
    const bad =
      !isObject(r) ||
      typeof r['node'] !== 'string' ||
      (r['group'] !== undefined && typeof r['group'] !== 'string') ||
      !isOffset(r['commitIndex']) ||
      typeof r['logHash'] !== 'string' ||
      (r['logHashIndex'] !== undefined && !isOffset(r['logHashIndex'])) ||
      (r['logHashFromIndex'] !== undefined && !isOffset(r['logHashFromIndex'])) ||
      (r['consumeQueueMinOffsets'] !== undefined &&
        (!isObject(r['consumeQueueMinOffsets']) || !Object.values(r['consumeQueueMinOffsets']).every((m) => isOffset(m)))) ||
      !isObject(r['consumeQueueHashes']) ||
      !Object.values(r['consumeQueueHashes']).every((h) => typeof h === 'string');
    if (bad) return `final-state replica ${i} must be {node, group?, commitIndex, logHash, logHashIndex?, logHashFromIndex?, consumeQueueHashes, consumeQueueMinOffsets?}`;
  }
  return undefined;
}

/** Why this parsed JSON value is not a valid history record, or undefined when it is. */
export function recordProblem(raw: unknown): string | undefined {
  if (!isObject(raw)) return 'a record must be a JSON object';
  if (!isOffset(raw['index'])) return 'index must be a non-negative integer';
  if (!isFiniteNumber(raw['time']) || raw['time'] < 0) return 'time must be a non-negative number of milliseconds';
  const f = raw['f'];
  const type = raw['type'];
  switch (f) {
    case 'send':
    case 'poll':
    case 'drain':
      if (!isProcess(raw['process'])) return 'process must be an integer or a non-empty string';
      if (type !== 'invoke' && type !== 'ok' && type !== 'fail' && type !== 'info') {
        return "type must be 'invoke', 'ok', 'fail' or 'info'";
      }
      return f === 'send' ? sendValueProblem(raw) : readValueProblem(raw);
    case 'nemesis':
    case 'assign':
    case 'final-state':
      if (type !== 'info') return `a ${f} record has type 'info'`;
      if (f === 'assign' && !isProcess(raw['process'])) return 'process must be an integer or a non-empty string';
      return f === 'nemesis' ? nemesisProblem(raw) : f === 'assign' ? assignProblem(raw) : finalStateProblem(raw);
    default:
      return `unknown f ${JSON.stringify(f)}`;
  }
}

/**
 * The cross-record rules, fed one record at a time. Process ids are compared by their JSON
 * spelling so that process 1 and process "1" stay distinct.
 */
export class SequenceRules {
  private lastIndex = -1;
  private lastTimeMs = 0;
  /** process → f of its outstanding invoke (and the value a send invoked). */
  private readonly outstanding = new Map<string, { f: string; sent: unknown }>();

  /** Why `op` cannot follow the records accepted so far, or undefined (and it is accepted). */
  accept(op: HistoryOp): string | undefined {
    if (op.index <= this.lastIndex) return `index ${op.index} does not increase (previous ${this.lastIndex})`;
    if (op.time < this.lastTimeMs) return `time ${op.time} goes back (previous ${this.lastTimeMs})`;
    if (op.f === 'send' || op.f === 'poll' || op.f === 'drain') {
      const key = JSON.stringify(op.process);
      const open = this.outstanding.get(key);
      if (op.type === 'invoke') {
        if (open !== undefined) return `process ${key} invokes ${op.f} while its ${open.f} is still outstanding`;
        this.outstanding.set(key, { f: op.f, sent: op.f === 'send' ? op.value.value : undefined });
      } else {
        if (open === undefined) return `process ${key} completes ${op.f} (${op.type}) without an invoke`;
        if (open.f !== op.f) return `process ${key} completes ${op.f} but its outstanding invoke is ${open.f}`;
        if (op.f === 'send' && op.value.value !== open.sent) {
          return `process ${key} completes a send of ${JSON.stringify(op.value.value)} but invoked ${JSON.stringify(open.sent)}`;
        }
        this.outstanding.delete(key);
      }
    }
    this.lastIndex = op.index;
    this.lastTimeMs = op.time;
    return undefined;
  }

  /** Processes with an invoke not (yet) completed. */
  outstandingCount(): number {
    return this.outstanding.size;
  }
}
