// Maps keyed by MessageQueue as RocketMQ's Java side writes them in JSON bodies (ConsumeStats,
// ResetOffsetBody, ConsumerRunningInfo): the key is the queue object itself, written without
// quotes, e.g. {"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:12}}. That is not
// JSON, so encoding and decoding such a table has its own home here (names cannot hold quotes
// or braces, which keeps the rewrite below exact).
import { BadRequestBodyError } from './protocol-errors.js';

export interface MqKey {
  topic: string;
  brokerName: string;
  queueId: number;
}

/** `{"<field>":{<queue>:<value>,...}}` plus any plain fields, in the Java form. */
export function encodeMqTableBody(field: string, rows: readonly (readonly [MqKey, unknown])[], extra: Record<string, unknown> = {}): Buffer {
  const entries = rows.map(([mq, v]) => `${JSON.stringify({ brokerName: mq.brokerName, queueId: mq.queueId, topic: mq.topic })}:${JSON.stringify(v)}`);
  const rest = Object.entries(extra).map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('');
  return Buffer.from(`{${JSON.stringify(field)}:{${entries.join(',')}}${rest}}`, 'utf8');
}

/** A queue object used as a key: a flat object directly followed by a colon. */
const KEY = /\{((?:"(?:brokerName|queueId|topic)":(?:"[^"{}]*"|-?\d+),?){3})\}:/g;

/** Reads a body holding a MessageQueue-keyed table (the Java form, or ours which is the same). */
export function decodeMqTableBody<V>(body: Buffer | undefined, field: string, what: string): { rows: [MqKey, V][]; rest: Record<string, unknown> } {
  if (body === undefined || body.length === 0) throw new BadRequestBodyError(`${what}: the body is empty`);
  const text = body.toString('utf8').replace(KEY, (_m, inner: string) => `${JSON.stringify(`{${inner}}`)}:`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new BadRequestBodyError(`${what}: the body is not JSON with MessageQueue keys`, { cause: err });
  }
  const table = (parsed[field] ?? {}) as Record<string, V>;
  const rows: [MqKey, V][] = [];
  for (const [k, v] of Object.entries(table)) {
    const mq = JSON.parse(k) as Partial<MqKey>;
    if (typeof mq.topic !== 'string' || typeof mq.brokerName !== 'string' || typeof mq.queueId !== 'number') throw new BadRequestBodyError(`${what}: a key of ${field} is not a MessageQueue`);
    rows.push([{ topic: mq.topic, brokerName: mq.brokerName, queueId: mq.queueId }, v]);
  }
  const { [field]: _t, ...rest } = parsed;
  return { rows, rest };
}
