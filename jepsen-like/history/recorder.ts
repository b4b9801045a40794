// Stamps history records with index and time and asserts the history rules as they are made,
// so a harness bug (a completion without an invoke, a missing queue on an ok send) crashes at
// the line that made it instead of surfacing later as a checker anomaly. Where the records go is
// the sink's business: a file (HistoryWriter) or an array (HistoryBuilder, for tests).
import { historyAssert } from './errors.js';
import type {
  AssignOp,
  CompletionType,
  FinalStateOp,
  HistoryOp,
  NemesisKind,
  NemesisOp,
  ProcessId,
  QueueKey,
  ReadF,
  ReadItem,
  ReadOp,
  ReplicaState,
  SendOp,
  SendValue,
  UnstampedOp,
} from './types.js';
import { recordProblem, SequenceRules } from './validate.js';

export type HistorySink = (op: HistoryOp) => void;

export interface CompletionExtra {
  /** Requests the SDK made for this operation (its internal retries), when it reports them. */
  attempts?: number;
  /** The error code or message of a fail/info completion. */
  error?: string;
}

export class HistoryRecorder {
  private nextIndex = 0;
  private readonly rules = new SequenceRules();

  constructor(
    private readonly sink: HistorySink,
    /** Milliseconds since the run started; must never go back. */
    private readonly clockMs: () => number,
  ) {}

  /** Stamps, checks and emits one record; every other method goes through here. */
  record<T extends UnstampedOp>(op: T): T & { index: number; time: number } {
    const stamped = { index: this.nextIndex, time: this.clockMs(), ...op } as T & { index: number; time: number };
    const problem = recordProblem(stamped) ?? this.rules.accept(stamped as unknown as HistoryOp);
    historyAssert(problem === undefined, `history record rejected: ${problem}: ${JSON.stringify(stamped)}`);
    this.nextIndex++;
    this.sink(stamped as unknown as HistoryOp);
    return stamped;
  }

  invokeSend(process: ProcessId, value: SendValue): SendOp {
    return this.record({ process, type: 'invoke', f: 'send', value });
  }

  completeSend(process: ProcessId, type: CompletionType, value: SendValue, extra: CompletionExtra = {}): SendOp {
    return this.record({ process, type, f: 'send', value, ...extra });
  }

  invokeRead(process: ProcessId, f: ReadF): ReadOp {
    return this.record({ process, type: 'invoke', f, value: null });
  }

  completeRead(process: ProcessId, f: ReadF, type: CompletionType, items: ReadItem[] | null, extra: Pick<CompletionExtra, 'error'> = {}): ReadOp {
    return this.record({ process, type, f, value: items, ...extra });
  }

  nemesis(kind: NemesisKind, fault: string, detail?: unknown): NemesisOp {
    const value = detail === undefined ? { kind, fault } : { kind, fault, detail };
    return this.record({ process: 'nemesis', type: 'info', f: 'nemesis', value });
  }

  assign(process: ProcessId, queues: QueueKey[], startOffsets?: Record<QueueKey, number>): AssignOp {
    const value = startOffsets === undefined ? { queues } : { queues, startOffsets };
    return this.record({ process, type: 'info', f: 'assign', value });
  }

  finalState(replicas: ReplicaState[]): FinalStateOp {
    return this.record({ process: 'final', type: 'info', f: 'final-state', value: { replicas } });
  }

  /** Invokes not completed yet (a run that stops leaves them open; checkers treat them as info). */
  outstandingCount(): number {
    return this.rules.outstandingCount();
  }

  recordCount(): number {
    return this.nextIndex;
  }
}
