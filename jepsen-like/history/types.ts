// The vocabulary of a run's history (history.jsonl): one record per line, Jepsen style. A client
// operation is an `invoke` followed by exactly one completion of the same process and `f`: `ok`
// (it happened), `fail` (it certainly did not happen) or `info` (unknown: a timeout, a lost
// connection). Nemesis faults, consumer assignments and the final replica state are standalone
// `info` records. Checkers read only these types, so they can be fed hand-built histories.

/** A message value the generator made unique for the whole run. */
export type MessageValue = number | string;

/**
 * A queue named `<topic>/<queueId>`, e.g. `jepsen/3`; in a run over several Raft groups
 * `<brokerName>:<topic>/<queueId>`, e.g. `broker-b:jepsen/3` (see {@link queueKey}).
 */
export type QueueKey = string;

/** A logical single-threaded client: at most one outstanding operation at a time. */
export type ProcessId = number | string;

export type OpType = 'invoke' | 'ok' | 'fail' | 'info';
export type CompletionType = Exclude<OpType, 'invoke'>;

/** Client operations, the ones that come as invoke/completion pairs. */
export type ClientF = 'send' | 'poll' | 'drain';
export type ReadF = 'poll' | 'drain';
export type OpF = ClientF | 'nemesis' | 'assign' | 'final-state';

interface RecordBase {
  /** Position in the history, strictly increasing from record to record. */
  index: number;
  /** Milliseconds since the run started (a monotonic clock, so never decreasing). */
  time: number;
}

export interface SendValue {
  value: MessageValue;
  /** Known on invoke when the client picks the queue; required on `ok`. */
  queue?: QueueKey;
  /** The queueOffset the broker acknowledged (on `ok`). */
  offset?: number;
  msgId?: string;
  /**
   * A transactional send (the `transactions` workload): how its transaction is decided, known
   * on invoke (by the local transaction, or by the checker's answer when the local outcome is
   * unknown). A `rollback` one must never be read; a `commit` one acknowledged must be read once.
   */
  txn?: TxnDecision;
}

export type TxnDecision = 'commit' | 'rollback';

export interface SendOp extends RecordBase {
  process: ProcessId;
  type: OpType;
  f: 'send';
  value: SendValue;
  /**
   * How many requests the client SDK made for this operation (its internal retries), when it
   * reports them. Absent on an `info` completion means "unknown", which can explain duplicates.
   */
  attempts?: number;
  /** The error code or message a `fail`/`info` completion carries, for people reading the run. */
  error?: string;
}

/** One message a poll or drain returned. */
export interface ReadItem {
  queue: QueueKey;
  offset: number;
  value: MessageValue;
}

export interface ReadOp extends RecordBase {
  process: ProcessId;
  type: OpType;
  f: ReadF;
  /** `null` on invoke (or a failed read); the messages read on an `ok` completion. */
  value: ReadItem[] | null;
  error?: string;
}

export type NemesisKind = 'start' | 'stop';

export interface NemesisValue {
  kind: NemesisKind;
  /** e.g. `partition-halves`, `kill-leader`, `pause-random`. */
  fault: string;
  /** Free-form facts about the fault (nodes cut off, pids killed). */
  detail?: unknown;
}

export interface NemesisOp extends RecordBase {
  process: 'nemesis';
  type: 'info';
  f: 'nemesis';
  value: NemesisValue;
}

export interface AssignValue {
  /** The queues this consumer process now owns; each starts a new read epoch. */
  queues: QueueKey[];
  /**
   * The offset the consumer resumes each queue from (the group's committed offset), when known.
   * The first read of the epoch must then be exactly this offset.
   */
  startOffsets?: Record<QueueKey, number>;
}

export interface AssignOp extends RecordBase {
  process: ProcessId;
  type: 'info';
  f: 'assign';
  value: AssignValue;
}

export interface ReplicaState {
  node: string;
  /** The Raft group (brokerName) this replica belongs to; replicas compare within a group. */
  group?: string;
  commitIndex: number;
  /** Hash of the committed log prefix up to `logHashIndex` (defaults to `commitIndex`). */
  logHash: string;
  logHashIndex?: number;
  /** The first index the log hash covers (retention may have deleted what came before). */
  logHashFromIndex?: number;
  /** `"topic/queueId"` → hash of that ConsumeQueue's content. */
  consumeQueueHashes: Record<QueueKey, string>;
  /**
   * `"topic/queueId"` → the replica's first offset still held: retention deleted the messages
   * below it, so a value acknowledged there and never read was expired, not lost.
   */
  consumeQueueMinOffsets?: Record<QueueKey, number>;
}

export interface FinalStateValue {
  replicas: ReplicaState[];
}

export interface FinalStateOp extends RecordBase {
  process: 'final';
  type: 'info';
  f: 'final-state';
  value: FinalStateValue;
}

export type ClientOp = SendOp | ReadOp;
export type HistoryOp = SendOp | ReadOp | NemesisOp | AssignOp | FinalStateOp;

/** A parsed, validated history: records in file order. */
export type History = readonly HistoryOp[];

/** A record before the recorder stamps it with `index` and `time`. */
type Unstamped<T> = T extends HistoryOp ? Omit<T, 'index' | 'time'> : never;
export type UnstampedOp = Unstamped<HistoryOp>;

export const CLIENT_FS: readonly ClientF[] = ['send', 'poll', 'drain'];

export function isClientOp(op: HistoryOp): op is ClientOp {
  return op.f === 'send' || op.f === 'poll' || op.f === 'drain';
}

export function isReadOp(op: HistoryOp): op is ReadOp {
  return op.f === 'poll' || op.f === 'drain';
}

/**
 * The QueueKey for a topic and queue id (the same spelling the final-state hashes use), qualified
 * by the group's brokerName when one is given (runs over several groups).
 */
export function queueKey(topic: string, queueId: number, group?: string): QueueKey {
  return group === undefined ? `${topic}/${queueId}` : `${group}:${topic}/${queueId}`;
}

/** The key a workload records for a queue the client names: its settings' mapping, or `<topic>/<queueId>`. */
export function queueKeyOf(s: { queueKeyOf?: (mq: { topic: string; brokerName: string; queueId: number }) => QueueKey }, mq: { topic: string; brokerName: string; queueId: number }): QueueKey {
  return s.queueKeyOf !== undefined ? s.queueKeyOf(mq) : queueKey(mq.topic, mq.queueId);
}
