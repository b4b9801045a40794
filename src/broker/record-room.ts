// Room for the records the leader encodes for sends (SEND_MESSAGE, SEND_BATCH_MESSAGE), carved
// back to back from 1 MiB slabs instead of a fresh buffer per send. The entry batcher joins one
// turn's payloads into one Raft entry; when they lie back to back in one slab (the usual case:
// the sends of a turn are encoded one after another) the entry is a view over them and nothing is
// copied or allocated (entry-batcher.ts). A slab is never reused: it is freed once no payload or
// entry carved from it is referenced, so a payload stays valid however long it is held.
import { BodySlab } from '../store/index.js';
import type { BrokerContext } from './broker-context.js';

/** Big enough for a turn of batches of 32 KiB; a payload over 1/8 of it gets its own buffer. */
const RECORD_SLAB_BYTES = 1024 * 1024;

const rooms = new WeakMap<BrokerContext, (bytes: number) => Buffer>();

/** The broker's allocator for encoded send records (pass it to encodeMessageRecord(s)). */
export function recordRoomOf(ctx: BrokerContext): (bytes: number) => Buffer {
  let room = rooms.get(ctx);
  if (room === undefined) {
    const slab = new BodySlab(RECORD_SLAB_BYTES, 1);
    rooms.set(ctx, (room = (bytes) => slab.allocate(bytes)));
  }
  return room;
}
