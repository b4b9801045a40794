// A store read for an SQL92 subscription: the ConsumeQueue cannot tell (it holds only a tag hash),
// so records are read first and filtered on their properties, decoded with the shared record and
// properties codec. Messages that do not match are skipped and counted in nextBeginOffset, as for
// tags. When a whole read matches nothing the next one follows, up to a scan budget per pull, so a
// rare match does not cost the consumer one round trip per batch.

import { decodeMessageRecord } from '../../common/message/message-record.js';
import { parseProperties } from '../../common/message/message-properties.js';
import { matchesSqlFilter, type FilterExpr } from '../../common/filter/index.js';
import { GetMessageStatus, type GetMessageResult, type MessageStore } from '../../store/index.js';

/** Records examined per pull before answering "nothing matched yet, go on from here". */
export const SQL_FILTER_SCAN_RECORDS_PER_PULL = 1024;

const EMPTY = Buffer.alloc(0);

export function recordMatches(filter: FilterExpr, record: Buffer): boolean {
  const properties = parseProperties(decodeMessageRecord(record, 0, { verifyCrc: false }).properties);
  return matchesSqlFilter(filter, (name) => properties.get(name));
}

export function getMatchingMessages(
  store: MessageStore,
  topic: string,
  queueId: number,
  queueOffset: number,
  maxCount: number,
  maxBytes: number,
  filter: FilterExpr,
): GetMessageResult {
  let offset = queueOffset;
  let scanned = 0;
  // Bounded: every FOUND read moves `offset` past at least one record and adds to `scanned`.
  for (;;) {
    const r = store.getMessage(topic, queueId, offset, maxCount, maxBytes);
    if (r.status !== GetMessageStatus.FOUND) {
      // After skipped records, report the progress instead of the end the store sees.
      if (offset === queueOffset) return r;
      return { ...r, status: GetMessageStatus.NO_MATCHED_MESSAGE, messages: [], body: EMPTY, nextBeginOffset: offset };
    }
    const kept = r.messages.filter((m) => recordMatches(filter, m));
    if (kept.length > 0) {
      if (kept.length === r.messages.length) return r;
      return { ...r, messages: kept, body: Buffer.concat(kept) };
    }
    scanned += r.messages.length;
    offset = r.nextBeginOffset;
    if (scanned >= SQL_FILTER_SCAN_RECORDS_PER_PULL) {
      return { ...r, status: GetMessageStatus.NO_MATCHED_MESSAGE, messages: [], body: EMPTY, nextBeginOffset: offset };
    }
  }
}
