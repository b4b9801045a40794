// The CommitLog as the store sees it: the few read calls the dispatcher, recovery and the read
// path make on the log (with the start record's application section, where the store keeps its
// queue start record), and the two calls retention makes to delete its head. The store knows
// nothing of Raft (docs/architecture.md): the broker passes its Raft log (MmapLogStorage) in, and it
// fits these interfaces structurally. Terms, hard state, appends and truncation stay Raft's.

/**
 * The entry type whose payload is application data (message records or a broker control entry).
 * It equals Raft's `EntryType.Normal`; a test pins the two together. Other types (NoOp, Config)
 * carry nothing for the store.
 */
export const NORMAL_ENTRY_TYPE = 0;

/** One entry of the log, as the store reads it. */
export interface CommitLogEntry {
  /** Position of the entry in the log, from 1, without gaps. */
  readonly index: number;
  /** NORMAL_ENTRY_TYPE for data; anything else is skipped. */
  readonly type: number;
  /**
   * A view of the entry's bytes in the log's data (valid while the entry stays in the log). Two
   * payloads with the same `buffer` lie in one contiguous mapping: the difference of their
   * `byteOffset`s is the difference of their positions. The dispatcher relies on it to place
   * the entries of a batch with one `locate` (it checks the batch's last entry against it).
   */
  readonly payload: Uint8Array;
}

/** Where an entry's bytes sit in the log's data files (global byte positions). */
export interface CommitLogLocation {
  /** Byte position of the entry's header. */
  readonly position: number;
  /** Byte position of the payload: message records' physical offsets are counted from here. */
  readonly payloadPosition: number;
  readonly payloadBytes: number;
}

/** What the store reads from the log. */
export interface CommitLogReader {
  /** Index of the first entry present. */
  firstIndex(): number;
  /** Index of the last entry present (firstIndex() - 1 when empty). */
  lastIndex(): number;
  /** Entries in [lo, hi): at least one if lo is present, stopping before `maxBytes` of payload. */
  entries(lo: number, hi: number, maxBytes: number): readonly CommitLogEntry[];
  /** Location of entry `index`, or undefined when it is not present. */
  locate(index: number): CommitLogLocation | undefined;
  /** A view (no copy) of `length` bytes at byte `position`; throws outside the log. */
  slice(position: number, length: number): Buffer;
  /** Byte position where the next entry would start. */
  endPosition(): number;
  /**
   * The application section of the log's start record: the queue start record (queue-start.ts)
   * the store handed to `deleteHead`, or the leader's after a reset; undefined when it has none.
   */
  startAppData(): Uint8Array | undefined;
}

/** A log whose head retention may delete segment by segment (MmapLogStorage is one). */
export interface SegmentedCommitLog extends CommitLogReader {
  /**
   * Deletes whole head segments that only hold entries below `beforeIndex`, never the one holding
   * the last entry. Returns the new first index. When the head moves, `startApp` is asked first,
   * with the new first entry and its position, for the start record's application section; if it
   * throws, nothing is deleted.
   */
  deleteHead(beforeIndex: number, startApp?: (first: { index: number; position: number }) => Uint8Array): number;
  /** The data segment files, oldest first. */
  segmentFiles(): { basePosition: number; path: string }[];
  /** The log's directory, whose file system is watched for disk pressure. */
  readonly dir?: string;
}
