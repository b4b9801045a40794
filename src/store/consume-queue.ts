// One ConsumeQueue: the dense offset index of one topic-queue (unit layout in
// consume-queue-units.ts, file names in consume-queue-paths.ts, the files themselves, opened
// lazily and closed when idle, in queue-files.ts).
// Units are written once at dispatch and only removed from the tail (recovery) or by whole files
// from the head (retention), so an unwritten unit reads as zeros and "size 0" means empty.
// A queue need not start at offset 0: one built from a log whose head was deleted starts at the
// offset the log's start record gives it (queue-start.ts). The units of its first file below its
// min offset are blanks (RocketMQ's pre-blank units), written where a queue starts mid-file and
// over the units retention leaves behind its min offset, so replicas agree byte for byte.

import { dirname, join } from 'node:path';
import { type FileLayer, MappedFile, realFileLayer } from '../../raft/storage/mapped-file.js';
import { topicDirName } from './consume-queue-paths.js';
import { BLANKS, CQ_UNIT_BYTES, type ConsumeQueueUnit, DEFAULT_UNITS_PER_FILE, fillBlanks, getInt64, isAllZero, setInt64 } from './consume-queue-units.js';
import { flushDirtyNow } from './file-sync.js';
import { QueueFilePool } from './queue-file-pool.js';
import { QueueFiles } from './queue-files.js';

export { BLANK_UNIT_SIZE, CQ_UNIT_BYTES, type ConsumeQueueUnit, DEFAULT_UNITS_PER_FILE, isAllZero } from './consume-queue-units.js';
export { consumeQueueDir, topicDirName, topicFromDirName } from './consume-queue-paths.js';
export { CQ_CLAIM_BYTES_MAX, CQ_FIRST_CLAIM_BYTES } from './queue-files.js';

export class ConsumeQueue {
  private readonly files: QueueFiles;
  private minQueueOffset = 0;
  private maxQueueOffset = 0;
  /** Units below this queue offset were handed to a flush (takeDirtyFiles). */
  private flushedQueueOffset = 0;
  /** A truncation zeroed units at or past the max offset since the last flush. */
  private zeroedSinceFlush = false;
  /** Units below the min offset were blanked since the last flush. */
  private blankedSinceFlush = false;
  /** Units below this offset are known to be blanks (-1: not known, as after open). */
  private blankedBelow = -1;
  /** Physical offset of the newest unit (-1 when empty), for the ordering assertion. */
  private tailPhysicalOffset = -1;
  private readonly fileBytes: number;
  private appendFile: MappedFile | undefined;
  private appendDataView: DataView | undefined;
  private readFile: MappedFile | undefined;
  private readDataView: DataView | undefined;
  /** The dispatcher's mark for "touched in this dispatch call" (see Dispatcher.touched). */
  touchedMark = 0;

  private constructor(
    readonly topic: string,
    readonly queueId: number,
    readonly dir: string,
    readonly unitsPerFile: number,
    layer: FileLayer,
    pool: QueueFilePool,
  ) {
    this.fileBytes = unitsPerFile * CQ_UNIT_BYTES;
    this.files = new QueueFiles(dir, this.fileBytes, layer, pool, () => this.dropViews());
  }

  /** File number (byte offset / fileBytes) of the first file. */
  private get firstFileNumber(): number {
    return this.files.firstNumber;
  }

  /** Opens the queue's files (if any) and recovers the max offset: the first empty unit of the last file. */
  static open(root: string, topic: string, queueId: number, unitsPerFile = DEFAULT_UNITS_PER_FILE, layer: FileLayer = realFileLayer, pool = QueueFilePool.unbounded()): ConsumeQueue {
    return ConsumeQueue.openIn(join(root, 'consumequeue'), topic, queueId, unitsPerFile, layer, pool);
  }

  /** Like open(), with the folder that holds the topic folders given (storePathConsumeQueue). */
  static openIn(queuesDir: string, topic: string, queueId: number, unitsPerFile = DEFAULT_UNITS_PER_FILE, layer: FileLayer = realFileLayer, pool = QueueFilePool.unbounded()): ConsumeQueue {
    if (!Number.isInteger(unitsPerFile) || unitsPerFile <= 0) throw new RangeError(`unitsPerFile ${unitsPerFile} must be a positive integer`);
    const cq = new ConsumeQueue(topic, queueId, join(queuesDir, topicDirName(topic), String(queueId)), unitsPerFile, layer, pool);
    cq.load();
    return cq;
  }

  private load(): void {
    if (!this.files.scan() || this.files.count === 0) return;
    this.minQueueOffset = this.firstFileNumber * this.unitsPerFile;
    this.recoverMaxOffset();
    this.flushedQueueOffset = this.maxQueueOffset;
    this.tailPhysicalOffset = this.physicalOffsetAt(this.maxQueueOffset - 1);
    // A store may hold many more queues than the pool keeps open: each reopens on first use.
    this.files.closeAll();
  }

  /**
   * The max offset is the first empty unit of the last non-empty file. Anything written after a
   * hole (a torn write after power loss) is zeroed so the queue stays dense.
   */
  private recoverMaxOffset(): void {
    // Trailing files without a single unit are leftovers of a truncation: drop them.
    while (this.files.count > 1 && this.files.get(this.files.count - 1).buffer.readInt32BE(8) === 0) {
      this.files.deleteLast();
    }
    const last = this.files.get(this.files.count - 1);
    const base = (this.firstFileNumber + this.files.count - 1) * this.unitsPerFile;
    let n = 0;
    while (n < this.unitsPerFile && last.buffer.readInt32BE(n * CQ_UNIT_BYTES + 8) > 0) n++;
    this.maxQueueOffset = base + n;
    const tail = last.buffer.subarray(n * CQ_UNIT_BYTES);
    if (!isAllZero(tail)) tail.fill(0);
  }

  /** Queue offset of the first unit still present. */
  get minOffset(): number {
    return this.minQueueOffset;
  }

  /** Queue offset the next unit gets (= number of units ever written). */
  get maxOffset(): number {
    return this.maxQueueOffset;
  }

  private fileFor(queueOffset: number): MappedFile | undefined {
    return this.files.byNumber(Math.floor(queueOffset / this.unitsPerFile));
  }

  /** Appends a unit at `maxOffset` and returns its queue offset. */
  append(physicalOffset: number, size: number, tagHash: number): number {
    if (!(size > 0) || physicalOffset < 0) throw new RangeError(`unit (${physicalOffset}, ${size}) is not a message`);
    const q = this.maxQueueOffset;
    // Dispatch runs in log order, so a queue's units point strictly forward.
    if (physicalOffset <= this.tailPhysicalOffset) {
      throw new Error(`ConsumeQueue ${this.topic}/${this.queueId}: unit at ${physicalOffset} does not follow ${this.tailPhysicalOffset}`);
    }
    let file = this.fileFor(q);
    // The queue's first file, for a queue that starts mid-file (see startAt): blanks go before q.
    const startsMidFile = !file && this.files.count === 0 && q % this.unitsPerFile !== 0;
    if (!file) file = this.createFile(Math.floor(q / this.unitsPerFile));
    const at = (q % this.unitsPerFile) * CQ_UNIT_BYTES;
    this.files.claim(file, at, CQ_UNIT_BYTES);
    if (startsMidFile) {
      // Allocated above (the claim runs from the file's start past `at`).
      fillBlanks(file.buffer, 0, at);
      this.blankedBelow = q;
    }
    const dv = this.appendView(file);
    setInt64(dv, at, physicalOffset);
    dv.setInt32(at + 8, size);
    setInt64(dv, at + 12, tagHash);
    this.maxQueueOffset = q + 1;
    this.tailPhysicalOffset = physicalOffset;
    return q;
  }

  /** A DataView of the file being appended to, made once per file (Buffer writes cost ~10x more). */
  private appendView(file: MappedFile): DataView {
    if (file !== this.appendFile) {
      this.appendFile = file;
      this.appendDataView = new DataView(file.buffer.buffer, file.buffer.byteOffset, file.buffer.length);
    }
    return this.appendDataView!;
  }

  /** Forgets the cached views so a closed or deleted file's mapping can be collected (freeing its disk space). */
  private dropViews(): void {
    this.appendFile = this.readFile = undefined;
    this.appendDataView = this.readDataView = undefined;
  }

  /** Same for the file the read path last looked at. */
  private readView(file: MappedFile): DataView {
    if (file !== this.readFile) {
      this.readFile = file;
      this.readDataView = new DataView(file.buffer.buffer, file.buffer.byteOffset, file.buffer.length);
    }
    return this.readDataView!;
  }

  private createFile(fileNumber: number): MappedFile {
    const first = this.files.count === 0;
    const file = this.files.create(fileNumber);
    if (first) this.minQueueOffset = Math.max(this.minQueueOffset, fileNumber * this.unitsPerFile);
    return file;
  }

  /**
   * Reads the unit at `queueOffset` into `out` (reused by the read loop to avoid allocations).
   * False when the offset is outside [minOffset, maxOffset).
   */
  read(queueOffset: number, out: ConsumeQueueUnit): boolean {
    if (queueOffset < this.minQueueOffset || queueOffset >= this.maxQueueOffset) return false;
    const file = this.fileFor(queueOffset);
    if (!file) return false;
    const at = (queueOffset % this.unitsPerFile) * CQ_UNIT_BYTES;
    const dv = this.readView(file);
    out.physicalOffset = getInt64(dv, at);
    out.size = dv.getInt32(at + 8);
    out.tagHash = getInt64(dv, at + 12);
    return true;
  }

  /** Physical offset of the unit at `queueOffset`, or -1 outside [minOffset, maxOffset). */
  physicalOffsetAt(queueOffset: number): number {
    if (queueOffset < this.minQueueOffset || queueOffset >= this.maxQueueOffset) return -1;
    const file = this.fileFor(queueOffset);
    return file ? getInt64(this.readView(file), (queueOffset % this.unitsPerFile) * CQ_UNIT_BYTES) : -1;
  }

  /** The queue offset whose unit has `physicalOffset`, by binary search (units are sorted); -1 if none. */
  queueOffsetOf(physicalOffset: number): number {
    let lo = this.minQueueOffset;
    let hi = this.maxQueueOffset - 1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const p = this.physicalOffsetAt(mid);
      if (p === physicalOffset) return mid;
      if (p < physicalOffset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Removes every unit pointing at or past `physicalOffset` (the log was cut there, or dispatch
   * will redo it). Empty trailing files are deleted so a rebuild leaves the same files.
   */
  truncateFrom(physicalOffset: number): void {
    let q = this.maxQueueOffset;
    while (q > this.minQueueOffset && this.physicalOffsetAt(q - 1) >= physicalOffset) q--;
    if (q === this.maxQueueOffset) return;
    for (let i = q; i < this.maxQueueOffset; ) {
      const file = this.fileFor(i)!;
      const at = (i % this.unitsPerFile) * CQ_UNIT_BYTES;
      const end = Math.min(this.unitsPerFile, (i % this.unitsPerFile) + (this.maxQueueOffset - i)) * CQ_UNIT_BYTES;
      file.buffer.fill(0, at, end);
      i += (end - at) / CQ_UNIT_BYTES;
    }
    this.maxQueueOffset = q;
    this.flushedQueueOffset = Math.min(this.flushedQueueOffset, q);
    this.zeroedSinceFlush = true;
    this.tailPhysicalOffset = this.physicalOffsetAt(q - 1);
    // A queue that never had a unit left keeps no file (as if never created); otherwise the file
    // holding the new max offset stays, so a restart still knows where the queue ends.
    const keepFiles = q === 0 ? 0 : Math.max(1, Math.ceil(q / this.unitsPerFile) - this.firstFileNumber);
    this.dropViews();
    while (this.files.count > keepFiles) this.files.deleteLast();
    if (this.files.count === 0) this.files.removeDir();
    // Units below the min offset were never written by this queue; keep the counters coherent.
    if (this.minQueueOffset > q) this.minQueueOffset = q;
  }

  /**
   * Retention: deletes head files whose units all point below `physicalOffset`, moves the min
   * offset to the first unit at or past it, and blanks the units left below it. With
   * `keepLastFile` the file holding the max offset stays even when nothing in it is left: a log
   * without a start record (written before there was one) has nothing else that remembers where
   * the queue ends. Without it a queue left without a message keeps no file, as a queue rebuilt
   * from that log start has none. Returns the number of files deleted.
   */
  deleteBelow(physicalOffset: number, keepLastFile = true): number {
    let deleted = 0;
    this.dropViews();
    // Bounded by the number of files.
    while (this.files.count > (keepLastFile ? 1 : 0)) {
      const lastUnitOfFirst = Math.min((this.firstFileNumber + 1) * this.unitsPerFile, this.maxQueueOffset) - 1;
      if (this.physicalOffsetAt(lastUnitOfFirst) >= physicalOffset) break;
      this.files.deleteFirst();
      this.minQueueOffset = Math.max(this.minQueueOffset, Math.min(this.firstFileNumber * this.unitsPerFile, this.maxQueueOffset));
      deleted++;
    }
    if (this.files.count === 0) this.files.removeDir();
    this.correctMinOffset(physicalOffset);
    this.blankBelowMin();
    return deleted;
  }

  /** Moves the min offset to the first unit pointing at or past `minPhysicalOffset` (binary search). */
  correctMinOffset(minPhysicalOffset: number): void {
    this.minQueueOffset = this.offsetAtOrAfter(minPhysicalOffset);
  }

  /**
   * The queue offset of the first unit pointing at or past `physicalOffset`, or the max offset
   * when there is none (binary search; units point strictly forward).
   */
  offsetAtOrAfter(physicalOffset: number): number {
    let lo = this.minQueueOffset;
    let hi = this.maxQueueOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.physicalOffsetAt(mid) < physicalOffset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Writes blanks over the units below the min offset still in the files (what retention left of
   * deleted messages), so the files equal those of a queue that started at its min offset. After
   * open, when unknown, the unit just below the min offset tells: blanks are written upwards.
   */
  blankBelowMin(): void {
    const min = this.minQueueOffset;
    const firstUnit = this.firstFileNumber * this.unitsPerFile;
    if (this.files.count === 0 || min <= firstUnit || min <= this.blankedBelow) return;
    if (this.blankedBelow < 0) {
      const file = this.fileFor(min - 1);
      const at = ((min - 1) % this.unitsPerFile) * CQ_UNIT_BYTES;
      if (file !== undefined && file.buffer.compare(BLANKS, 0, CQ_UNIT_BYTES, at, at + CQ_UNIT_BYTES) === 0) {
        this.blankedBelow = min;
        return;
      }
    }
    const from = Math.max(firstUnit, this.blankedBelow);
    // Bounded by the number of files.
    for (let k = 0; k < this.files.count; k++) {
      const fileStart = (this.firstFileNumber + k) * this.unitsPerFile;
      const lo = Math.max(from, fileStart);
      const hi = Math.min(min, fileStart + this.unitsPerFile);
      if (lo >= min) break;
      if (lo < hi && fillBlanks(this.files.get(k).buffer, (lo - fileStart) * CQ_UNIT_BYTES, (hi - fileStart) * CQ_UNIT_BYTES)) this.blankedSinceFlush = true;
    }
    this.blankedBelow = min;
  }

  /**
   * Restarts the queue empty at `queueOffset`: every file goes (the units in them point below the
   * log's first position), and the next unit gets that offset. For a queue built from a log whose
   * head was deleted, which starts where the log's start record says (queue-start.ts).
   */
  startAt(queueOffset: number): void {
    if (!Number.isSafeInteger(queueOffset) || queueOffset < 0) throw new RangeError(`queue offset ${queueOffset} is not a start`);
    this.destroy();
    this.minQueueOffset = this.maxQueueOffset = this.flushedQueueOffset = queueOffset;
    this.blankedBelow = queueOffset;
  }

  /** Whether the queue has files on disk. */
  get hasFiles(): boolean {
    return this.files.count > 0;
  }

  /**
   * The first queue offset whose message was stored at or after `timestampMs` (binary search over
   * store timestamps read through `storeTimestampAt`), or maxOffset when every message is older.
   * Store timestamps come from successive leaders' clocks, so this is exact only while they are
   * monotonic, as RocketMQ's own search assumes.
   */
  offsetByTime(timestampMs: number, storeTimestampAt: (physicalOffset: number, size: number) => number): number {
    let lo = this.minQueueOffset;
    let hi = this.maxQueueOffset;
    const unit: ConsumeQueueUnit = { physicalOffset: 0, size: 0, tagHash: 0 };
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      this.read(mid, unit);
      if (storeTimestampAt(unit.physicalOffset, unit.size) < timestampMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Hands the files holding units written (or zeroed) since the last call to a flush: pushes
   * them to `out` and the directories that got new names to `dirs`, and counts them as flushed.
   * The caller must fdatasync every one of them before it records the units as durable.
   */
  takeDirtyFiles(out: MappedFile[], dirs: Set<string>): void {
    const taken = out.length;
    const from = Math.max(this.flushedQueueOffset, this.minQueueOffset);
    const to = this.maxQueueOffset;
    // Bounded by the number of files: each round moves to the next file.
    for (let q = from; q < to; ) {
      const file = this.fileFor(q);
      if (file) out.push(file);
      q = Math.min(to, (Math.floor(q / this.unitsPerFile) + 1) * this.unitsPerFile);
    }
    if (this.zeroedSinceFlush) {
      // The file the truncation ended in (already pushed when units follow the new max).
      const file = this.fileFor(to);
      if (file && (from >= to || this.fileFor(to - 1) !== file)) out.push(file);
      this.zeroedSinceFlush = false;
    }
    if (this.blankedSinceFlush) {
      // Blanks are not needed to read the queue, only for replicas to agree byte for byte; the
      // files holding them are synced with the rest (a duplicate in `out` is synced twice).
      for (let k = 0; k < this.files.count && (this.firstFileNumber + k) * this.unitsPerFile < this.minQueueOffset; k++) out.push(this.files.get(k));
      this.blankedSinceFlush = false;
    }
    this.flushedQueueOffset = to;
    // The flush syncs these through their descriptors: they stay open until it completed.
    if (out.length > taken) this.files.heldByFlush = true;
    for (const d of this.files.newDirs) dirs.add(d);
    this.files.newDirs.clear();
  }

  /**
   * Counts every unit, file and directory name of this queue as not yet durable, so the next
   * flush syncs them all (when open found no checkpoint vouching for them).
   */
  markAllDirty(): void {
    this.flushedQueueOffset = this.minQueueOffset;
    if (this.files.count > 0) {
      const dirs = this.files.newDirs;
      dirs.add(this.dir);
      dirs.add(dirname(this.dir));
      dirs.add(dirname(dirname(this.dir)));
      dirs.add(dirname(dirname(dirname(this.dir))));
    }
  }

  /** Makes the units written since the last flush durable (blocking fdatasync). */
  flush(): void {
    flushDirtyNow(this);
  }

  /** Paths of the files, oldest first (for tests and tools). */
  filePaths(): string[] {
    return this.files.paths();
  }

  /** Files of this queue mapped now (they are opened on use and closed when idle). */
  get openFileCount(): number {
    return this.files.openCount;
  }

  close(): void {
    this.files.closeAll();
  }

  /** Deletes every file of this queue (a rebuild from scratch). */
  destroy(): void {
    this.files.deleteAll();
    this.minQueueOffset = this.maxQueueOffset = this.flushedQueueOffset = 0;
    this.tailPhysicalOffset = -1;
    this.zeroedSinceFlush = this.blankedSinceFlush = false;
    this.blankedBelow = -1;
  }
}
