// Checks what clients are TOLD against what the cluster committed. Every payload a client
// proposes is a unique 8-byte entry id, so an applied entry names the batch it came from.
//   resolved OK: exactly its payloads are committed at the reported indexes, with the reported
//     term (and, by State Machine Safety, never replaced there);
//   rejected as not stored (not the leader, dropped, busy): none of its entries ever commits;
//   timeout, node closed, any other coded error: no promise either way (an error without a
//     code is a bug);
//   liveness: once healed and converged, every batch its node is still alive to answer for is
//   answered.
import { EntryType, type Entry, type NodeId } from '../../core/types.js';
import type { SafetyChecker } from '../checker.js';

export const CLIENT_PAYLOAD_BYTES = 8;

/** The error codes that promise the proposal was not stored and so can never commit. */
const NOT_STORED_CODES = new Set(['ERR_RAFT_NOT_LEADER', 'ERR_RAFT_LEADER_TRANSFERRING', 'ERR_RAFT_PROPOSAL_DROPPED', 'ERR_RAFT_BUSY']);

export type BatchOutcome =
  | { kind: 'pending' }
  | { kind: 'ok'; index: number; lastIndex: number; term: number }
  | { kind: 'not-stored'; code: string }
  | { kind: 'unknown'; code: string }
  /** The node crashed before answering: the client never hears back. */
  | { kind: 'orphaned' };

export interface ClientBatch {
  batchId: number;
  entryIds: number[];
  node: NodeId;
  incarnation: number;
  outcome: BatchOutcome;
}

export function entryPayload(entryId: number): Uint8Array {
  const b = new Uint8Array(CLIENT_PAYLOAD_BYTES);
  new DataView(b.buffer).setFloat64(0, entryId);
  return b;
}

function entryIdOf(e: Entry): number | undefined {
  if (e.type !== EntryType.Normal || e.payload.length !== CLIENT_PAYLOAD_BYTES) return undefined;
  return new DataView(e.payload.buffer, e.payload.byteOffset, e.payload.byteLength).getFloat64(0);
}

export class ClientChecker {
  readonly batches: ClientBatch[] = [];
  private readonly batchOfEntry = new Map<number, ClientBatch>();
  /** entry id → the index it was first applied (committed) at. */
  private readonly committedAt = new Map<number, number>();
  private nextEntryId = 1;
  counts = { ok: 0, notStored: 0, unknown: 0, orphaned: 0 };

  constructor(private readonly safety: SafetyChecker) {}

  /** Records a batch of `size` new payloads proposed to `node`; returns it with its payloads. */
  propose(node: NodeId, incarnation: number, size: number): { batch: ClientBatch; payloads: Uint8Array[] } {
    const batch: ClientBatch = { batchId: this.batches.length + 1, entryIds: [], node, incarnation, outcome: { kind: 'pending' } };
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < size; i++) {
      const id = this.nextEntryId++;
      batch.entryIds.push(id);
      payloads.push(entryPayload(id));
      this.batchOfEntry.set(id, batch);
    }
    this.batches.push(batch);
    return { batch, payloads };
  }

  resolved(b: ClientBatch, r: { index: number; lastIndex: number; term: number }): void {
    b.outcome = { kind: 'ok', index: r.index, lastIndex: r.lastIndex, term: r.term };
    this.counts.ok++;
    const what = `batch ${b.batchId} [${b.entryIds.join(',')}] resolved OK at ${r.index}..${r.lastIndex} term ${r.term}`;
    if (r.lastIndex - r.index + 1 !== b.entryIds.length) {
      this.safety.violate(`${what}: that is not ${b.entryIds.length} entries`);
      return;
    }
    for (let k = 0; k < b.entryIds.length; k++) {
      const c = this.safety.committedEntry(r.index + k);
      if (c === undefined) return this.safety.violate(`${what}: nothing is committed at ${r.index + k}`);
      const id = entryIdOf(c);
      if (id !== b.entryIds[k] || c.term !== r.term) {
        return this.safety.violate(`${what}: (${r.index + k}, ${c.term}) committed entry ${id ?? 'no-op'} instead of ${b.entryIds[k]}`);
      }
    }
  }

  rejected(b: ClientBatch, err: unknown): void {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_STORED_CODES.has(code)) {
      b.outcome = { kind: 'not-stored', code };
      this.counts.notStored++;
      for (const id of b.entryIds) {
        const at = this.committedAt.get(id);
        if (at !== undefined) this.notStoredButCommitted(b, id, at);
      }
    } else if (typeof code === 'string') {
      // ERR_RAFT_PROPOSAL_TIMEOUT, ERR_RAFT_NODE_CLOSED or any other coded error: no promise either way.
      b.outcome = { kind: 'unknown', code };
      this.counts.unknown++;
    } else {
      this.safety.violate(`batch ${b.batchId} failed with an unexpected error: ${String(err)}`);
    }
  }

  /** The node that held `incarnation`'s pending batches died: their clients never hear back. */
  orphan(node: NodeId, incarnation: number): void {
    for (const b of this.batches) {
      if (b.node === node && b.incarnation === incarnation && b.outcome.kind === 'pending') {
        b.outcome = { kind: 'orphaned' };
        this.counts.orphaned++;
      }
    }
  }

  /** Every entry any node applies (after the safety checker saw it). */
  onApply(e: Entry): void {
    const id = entryIdOf(e);
    if (id === undefined || this.committedAt.has(id)) return;
    this.committedAt.set(id, e.index);
    const b = this.batchOfEntry.get(id);
    if (b?.outcome.kind === 'not-stored') this.notStoredButCommitted(b, id, e.index);
  }

  /** Batches still waiting for an answer from a node incarnation that is alive. */
  undecided(isLive: (node: NodeId, incarnation: number) => boolean): ClientBatch[] {
    return this.batches.filter((b) => b.outcome.kind === 'pending' && isLive(b.node, b.incarnation));
  }

  /** Every batch resolved OK is still committed as reported and held by `logs` (all replicas). */
  checkAcknowledgedKept(logs: { id: NodeId; term(index: number): number | undefined; logStart(): { index: number } }[]): void {
    for (const b of this.batches) {
      if (b.outcome.kind !== 'ok') continue;
      for (let i = b.outcome.index; i <= b.outcome.lastIndex; i++) {
        for (const log of logs) {
          if (i > log.logStart().index && log.term(i) !== b.outcome.term) {
            this.safety.violate(`acknowledged batch ${b.batchId} lost: ${log.id} holds term ${log.term(i)} at ${i}, not ${b.outcome.term}`);
            return;
          }
        }
      }
    }
  }

  private notStoredButCommitted(b: ClientBatch, id: number, index: number): void {
    const code = b.outcome.kind === 'not-stored' ? b.outcome.code : '?';
    this.safety.violate(`batch ${b.batchId} [${b.entryIds.join(',')}] was rejected as not stored (${code}) but its entry ${id} committed at ${index}`);
  }
}
