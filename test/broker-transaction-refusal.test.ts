// Transactional sends against a one-node in-process broker group over the wire: a single half
// message (TRANSACTION_PREPARED sysFlag or the TRAN_MSG property) is stored out of sight, in the
// half topic, and answered SEND_OK; a send marked rolled back, and any batch carrying a half
// message, are refused with 16 NO_PERMISSION and a remark, and nothing is stored.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBatch } from '../src/client/batch-encoder.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';
import { RequestCode, ResponseCode } from '../src/protocol/index.js';
import { SysFlag } from '../src/store/index.js';
import { props, request, sendV2, startTestGroup, waitForReadyLeader, type TestGroup } from './broker-helpers.js';

let g: TestGroup;
let addr: string;

beforeAll(async () => {
  g = await startTestGroup(await findFreeBlock(20), 1);
  addr = (await waitForReadyLeader(g)).brokerAddr;
});

afterAll(async () => {
  await g?.close();
});

async function maxOffset(topic: string): Promise<string | undefined> {
  const r = await request(g, addr, RequestCode.GET_MAX_OFFSET, { topic, queueId: 0 });
  return r.extFields['offset'];
}

describe('transactional sends', () => {
  it('stores a half message out of sight in the half topic and answers SEND_OK with its half-queue offset', async () => {
    const plain = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('TX_T', 0, ''), Buffer.from('plain'));
    expect(plain.code, plain.remark).toBe(ResponseCode.SUCCESS);
    const halves: [string, Record<string, string | number | boolean>][] = [
      ['prepared sysFlag', sendV2('TX_T', 0, '', { f: SysFlag.TRANSACTION_PREPARED })],
      ['TRAN_MSG property', sendV2('TX_T', 0, props({ TRAN_MSG: 'true', PGROUP: 'PG' }))],
    ];
    const offsets: string[] = [];
    for (const [name, ext] of halves) {
      const resp = await request(g, addr, RequestCode.SEND_MESSAGE_V2, ext, Buffer.from(name));
      expect(resp.code, `${name}: ${resp.remark}`).toBe(ResponseCode.SUCCESS);
      offsets.push(resp.extFields['queueOffset']!);
    }
    expect(offsets).toEqual(['0', '1']);
    expect(await maxOffset('TX_T')).toBe('1');
    const half = await request(g, addr, RequestCode.GET_MAX_OFFSET, { topic: 'RMQ_SYS_TRANS_HALF_TOPIC', queueId: 0 });
    expect(half.extFields['offset']).toBe('2');
  });

  it('refuses a raw send marked rolled back with NO_PERMISSION and a remark, and stores nothing', async () => {
    const resp = await request(g, addr, RequestCode.SEND_MESSAGE_V2, sendV2('TX_R', 0, '', { f: SysFlag.TRANSACTION_ROLLBACK }), Buffer.from('rb'));
    expect(resp.code).toBe(ResponseCode.NO_PERMISSION);
    expect(resp.remark).toMatch(/rolled back .*forbidden.*send it as a normal message/);
    expect(await maxOffset('TX_R')).toBe('0');
  });

  it('refuses a batch that carries the prepared flag or a TRAN_MSG message with NO_PERMISSION and stores nothing', async () => {
    const header = (extra: Record<string, string | number | boolean>) => sendV2('TX_B', 0, '', { m: true, ...extra });
    const flagged = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, header({ f: SysFlag.TRANSACTION_PREPARED }), encodeBatch([{ body: Buffer.from('a'), flag: 0, properties: '' }]));
    expect(flagged.code, flagged.remark).toBe(ResponseCode.NO_PERMISSION);
    const marked = await request(g, addr, RequestCode.SEND_BATCH_MESSAGE, header({}), encodeBatch([
      { body: Buffer.from('a'), flag: 0, properties: '' },
      { body: Buffer.from('b'), flag: 0, properties: props({ TRAN_MSG: 'true' }) },
    ]));
    expect(marked.code, marked.remark).toBe(ResponseCode.NO_PERMISSION);
    expect(marked.remark).toMatch(/message #2 of the batch/);
    expect(await maxOffset('TX_B')).toBe('0');
  });
});
