// The control protocol between a node process (main.ts) and the parent that runs it (the
// process test, the benchmark, the npm start demo), carried over Node's IPC channel. The parent
// asks; the node answers with a `reply` carrying the same `rid`, and pushes `role` and `acked`
// events on its own.

import type { Role } from '../../core/types.js';

/** Payloads written by the load driver start with a sequence number and this tag. */
export const SEQ_TAG = 0x52_46_54_31; // 'RFT1'
export const SEQ_HEADER_BYTES = 8;

export interface LoadSpec {
  /** First sequence number to propose; sequences are proposed in order. */
  fromSeq: number;
  /** How many entries, or until `stop-load` / `seconds` when count is 0. */
  count: number;
  /** Stop after this long even if `count` is not reached (0 = no limit). */
  seconds: number;
  /** Entries in flight at once. */
  window: number;
  /** Entries per proposeBatch call (one promise and one ack range each). */
  batchMax: number;
  payloadBytes: number;
}

export type ParentRequest =
  | { t: 'status'; rid: number }
  | { t: 'load'; rid: number; spec: LoadSpec }
  | { t: 'stop-load'; rid: number }
  | { t: 'check'; rid: number; ranges: number[] }
  | { t: 'transfer'; rid: number; to: string }
  | { t: 'close'; rid: number };

export interface NodeReport {
  id: string;
  pid: number;
  role: Role;
  leader: string;
  term: number;
  commit: number;
  applied: number;
  lastIndex: number;
  /** Entries applied since start (all types) and a CRC32 chained over their payloads in order. */
  appliedEntries: number;
  appliedHash: number;
  droppedFrames: number;
}

export interface LoadResult {
  proposed: number;
  acked: number;
  failed: number;
  errors: Record<string, number>;
  durationMs: number;
  latencyMsP50: number;
  latencyMsP99: number;
}

export interface CheckResult {
  checked: number;
  missing: number;
  firstMissing: number;
}

export type NodeEvent =
  | { t: 'started'; id: string; pid: number }
  | { t: 'role'; id: string; role: Role; leader: string; term: number }
  /** Sequence ranges committed and acknowledged to the driver: [lo0, hi0, lo1, hi1, ...] inclusive. */
  | { t: 'acked'; id: string; ranges: number[] }
  | { t: 'reply'; rid: number; ok: true; value: unknown }
  | { t: 'reply'; rid: number; ok: false; code: string; message: string };
