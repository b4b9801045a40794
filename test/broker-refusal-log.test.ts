// The broker's log of refused requests: one structured line per kind of refusal, a burst folded
// into the next line of its kind, thrown errors counted as the answer the server gives them.
import { describe, expect, it } from 'vitest';
import type { Logger } from '../src/common/logger.js';
import { BrokerError } from '../src/broker/broker-errors.js';
import { REFUSAL_LOG_INTERVAL_MS, RefusalLog } from '../src/broker/refusal-log.js';
import { makeRequest, makeResponse, RequestCode, ResponseCode, type RemotingChannel } from '../src/protocol/index.js';

function capture(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => lines.push(fields) } as unknown as Logger;
  return { logger, lines };
}

const channel = { remoteAddress: '127.0.0.1:5555' } as RemotingChannel;

describe('RefusalLog', () => {
  it('logs one line per kind of refusal and folds a burst into the next line of its kind', () => {
    const { logger, lines } = capture();
    let now = 1_000;
    const log = new RefusalLog(logger, () => now);
    for (let i = 0; i < 3; i++) log.note(RequestCode.SEND_MESSAGE_V2, ResponseCode.SERVICE_NOT_AVAILABLE, 'not leader', '127.0.0.1:1');
    log.note(RequestCode.PULL_MESSAGE, ResponseCode.SYSTEM_ERROR, 'bad', '127.0.0.1:1');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ event: 'request-refused', request: 'SEND_MESSAGE_V2', code: 'SERVICE_NOT_AVAILABLE', remark: 'not leader', foldedSinceLast: 0 });
    now += REFUSAL_LOG_INTERVAL_MS;
    log.note(RequestCode.SEND_MESSAGE_V2, ResponseCode.SERVICE_NOT_AVAILABLE, 'not leader', '127.0.0.1:1');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ request: 'SEND_MESSAGE_V2', foldedSinceLast: 2 });
  });

  it('notes refusals a handler answers or throws, and not normal outcomes', async () => {
    const { logger, lines } = capture();
    const log = new RefusalLog(logger, () => 0);
    const answered = log.wrap((req) => makeResponse(req, ResponseCode.PULL_NOT_FOUND));
    await answered(makeRequest(RequestCode.PULL_MESSAGE, {}), channel);
    expect(lines).toEqual([]);
    const thrown = log.wrap(() => {
      throw new BrokerError('ERR_BROKER_NOT_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, 'not stored: not the leader');
    });
    await expect(thrown(makeRequest(RequestCode.SEND_MESSAGE, {}), channel)).rejects.toThrow('not the leader');
    expect(lines).toEqual([expect.objectContaining({ request: 'SEND_MESSAGE', code: 'SERVICE_NOT_AVAILABLE', remote: '127.0.0.1:5555' })]);
  });
});
