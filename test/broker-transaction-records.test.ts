// The records of the transaction design, without a cluster: a half message keeps its real topic
// and queue in properties and gives them back on commit (REAL_* removed, commit type, prepared
// offset = the half's position); op bodies round-trip and anything else is not an op.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isHalfSend, OpKind, opRecord, parseOpBody, realDestination, restoredRecord, toHalfRecord } from '../src/broker/transaction/half-message.js';
import { getProperty, SysFlag, type MessageRecord } from '../src/store/index.js';

const HOST = { host: '10.0.0.1', port: 10911 };

function send(props: string, sysFlag = SysFlag.TRANSACTION_PREPARED): MessageRecord {
  return {
    topic: 'Orders', queueId: 3, flag: 7, queueOffset: 0, physicalOffset: -1, sysFlag, bornTimestamp: 1000, bornHost: '10.0.0.9', bornPort: 5000,
    storeTimestamp: 2000, storeHost: HOST.host, storePort: HOST.port, reconsumeTimes: 0, preparedTransactionOffset: 0, body: Buffer.from('pay'), properties: props,
  };
}

describe('half messages', () => {
  it('are recognised by the prepared sysFlag or TRAN_MSG=true, and by nothing else', () => {
    expect(isHalfSend(SysFlag.TRANSACTION_PREPARED, '')).toBe(true);
    expect(isHalfSend(0, 'TRAN_MSG\x01true\x02')).toBe(true);
    expect(isHalfSend(0, 'TRAN_MSG\x01false\x02')).toBe(false);
    expect(isHalfSend(SysFlag.TRANSACTION_COMMIT, '')).toBe(false);
    expect(isHalfSend(SysFlag.COMPRESSED, 'KEYS\x01TRAN_MSG\x02')).toBe(false);
  });

  it('park in the half topic with their destination in properties and come back whole on commit', () => {
    const r = send('PGROUP\x01g\x02UNIQ_KEY\x01u1\x02REAL_TOPIC\x01forged\x02', SysFlag.TRANSACTION_PREPARED | SysFlag.COMPRESSED);
    toHalfRecord(r);
    expect(r.topic).toBe('RMQ_SYS_TRANS_HALF_TOPIC');
    expect(r.queueId).toBe(0);
    expect(r.sysFlag).toBe(SysFlag.COMPRESSED);
    expect(realDestination(r)).toEqual({ topic: 'Orders', queueId: 3 });
    expect(getProperty(r.properties, 'TRAN_MSG')).toBe('true');
    r.physicalOffset = 4096;
    const real = restoredRecord(r, SysFlag.TRANSACTION_COMMIT, HOST, 3000)!;
    expect(real).toMatchObject({ topic: 'Orders', queueId: 3, flag: 7, sysFlag: SysFlag.COMPRESSED | SysFlag.TRANSACTION_COMMIT, preparedTransactionOffset: 4096, storeTimestamp: 3000, bornTimestamp: 1000 });
    expect(getProperty(real.properties, 'REAL_TOPIC')).toBeUndefined();
    expect(getProperty(real.properties, 'REAL_QID')).toBeUndefined();
    expect(getProperty(real.properties, 'UNIQ_KEY')).toBe('u1');
    expect(Buffer.from(real.body).toString()).toBe('pay');
  });

  it('without a destination are not restored', () => {
    expect(restoredRecord(send(''), SysFlag.TRANSACTION_COMMIT, HOST, 0)).toBeUndefined();
  });
});

describe('op records', () => {
  it('round-trip every kind and offset through their body', () => {
    fc.assert(
      fc.property(fc.constantFrom(...Object.values(OpKind)), fc.nat({ max: 2 ** 40 }), fc.nat({ max: 2 ** 50 }), (kind, q, p) => {
        const rec = opRecord({ kind, halfQueueOffset: q, halfPhysicalOffset: p }, HOST, 1);
        expect(rec.topic).toBe('RMQ_SYS_TRANS_OP_HALF_TOPIC');
        expect(parseOpBody(rec.body)).toEqual({ kind, halfQueueOffset: q, halfPhysicalOffset: p });
      }),
    );
  });

  it('read anything else as no op', () => {
    for (const body of ['', 'c', 'c 1', 'z 1 2', 'c -1 2', 'c 1 2 3', 'c 1.5 2', 'c 1 x', 'c 01 2', 'c 1e3 2', ' c 1 2']) expect(parseOpBody(Buffer.from(body)), body).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const op = parseOpBody(bytes);
      if (op !== undefined) expect(Buffer.from(bytes).toString('latin1')).toBe(`${op.kind} ${op.halfQueueOffset} ${op.halfPhysicalOffset}`);
    }));
  });
});
