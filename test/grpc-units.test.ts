// Units of the gRPC endpoint (src/grpc) that need no process: the invisibility table (redelivery
// with attempt + 1, FIFO groups held back, stale receipt handles, the bound), the delay-level and
// message-group mappings, receipt handles, status mapping, the grpcListenPort and grpcTlsEnable
// config keys, FIFO settings of orderly groups, and the v5 signature and per-RPC ACL needs.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { parseBrokerConfig } from '../src/broker/broker-config.js';
import { ResponseCode } from '../src/protocol/response-code.js';
import { InvisibilityTable } from '../src/grpc/invisibility.js';
import { delayLevelFor, propertiesOf, queueOfMessageGroup } from '../src/grpc/send.js';
import { decodeHandle, encodeHandle } from '../src/grpc/simple-consume.js';
import { statusOfResponse } from '../src/grpc/status-map.js';
import { answerEndpoints, endpointsOf } from '../src/grpc/route.js';
import type { Message } from '../src/grpc/proto.js';
import { answerSettings } from '../src/grpc/telemetry.js';
import type { BrokerContext } from '../src/broker/broker-context.js';
import { readGroupConfig } from '../src/broker/processors/admin-topic-group.js';
import { GRPC_SIGNATURE_MAX_SKEW_MS, needsOf, settingsNeeds, v5CredentialsOf, v5SignedWith } from '../src/grpc/grpc-access.js';
import * as grpc from '@grpc/grpc-js';

const require = createRequire(import.meta.url);
// The client's own signing function (its util module), so our check is held to what it sends.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const v5util = require('rocketmq-client-nodejs/dist/util/index.js') as { sign(secret: string, dateTime: string): string };

const BASE_CONF = 'dLegerPeers=n0-127.0.0.1:40911\ndLegerSelfId=n0\n';

describe('InvisibilityTable', () => {
  it('delivers a message again after its invisible duration with one more attempt', () => {
    const t = new InvisibilityTable();
    const l = t.lease('g', 't', 0, () => 0);
    t.track(l, 0, undefined);
    const [first] = t.deliver(l, 10, 1_000, 5_000);
    expect(first!.entry.attempts).toBe(1);
    expect(t.deliver(l, 10, 5_999, 5_000)).toEqual([]);
    const [again] = t.deliver(l, 10, 6_000, 5_000);
    expect(again!.entry.attempts).toBe(2);
    expect(t.ack(l, 0, first!.handleNonce)).toBe('stale');
    expect(t.ack(l, 0, again!.handleNonce)).toBe(1);
    expect(t.trackedCount).toBe(0);
  });

  it('moves the base only past a run of acknowledged offsets', () => {
    const t = new InvisibilityTable();
    const l = t.lease('g', 't', 0, () => 10);
    for (const o of [10, 11, 12]) t.track(l, o, undefined);
    const d = t.deliver(l, 10, 0, 1_000);
    expect(t.ack(l, 11, d[1]!.handleNonce)).toBe('unchanged');
    expect(t.ack(l, 10, d[0]!.handleNonce)).toBe(12);
    expect(t.ack(l, 12, d[2]!.handleNonce)).toBe(13);
  });

  it('holds back a message group while an earlier message of it is invisible, and not other groups', () => {
    const t = new InvisibilityTable();
    const l = t.lease('g', 't', 0, () => 0);
    t.track(l, 0, 'a');
    t.track(l, 1, 'b');
    const first = t.deliver(l, 1, 0, 1_000);
    expect(first.map((d) => d.entry.offset)).toEqual([0]);
    t.track(l, 2, 'a');
    // 'a' waits for offset 0; 'b' goes.
    expect(t.deliver(l, 10, 10, 1_000).map((d) => d.entry.offset)).toEqual([1]);
    t.ack(l, 0, first[0]!.handleNonce);
    expect(t.deliver(l, 10, 20, 1_000).map((d) => d.entry.offset)).toEqual([2]);
  });

  it('changes the invisible time and makes the old receipt handle stale', () => {
    const t = new InvisibilityTable();
    const l = t.lease('g', 't', 0, () => 0);
    t.track(l, 0, undefined);
    const [d] = t.deliver(l, 1, 0, 60_000);
    const nonce = t.changeInvisible(l, 0, d!.handleNonce, 100);
    expect(nonce).not.toBe('stale');
    expect(t.changeInvisible(l, 0, d!.handleNonce, 100)).toBe('stale');
    expect(t.deliver(l, 1, 100, 1_000).map((x) => x.entry.attempts)).toEqual([2]);
  });

  it('has no room past its bound on tracked messages', () => {
    const t = new InvisibilityTable(3);
    const l = t.lease('g', 't', 0, () => 0);
    for (const o of [0, 1, 2]) t.track(l, o, undefined);
    expect(t.room()).toBe(0);
  });
});

describe('send mapping', () => {
  const levels = [1_000, 5_000, 10_000];

  it('maps a delivery delay to the first delay level that is not earlier, capped at the last', () => {
    expect(delayLevelFor(0, levels)).toBe(0);
    expect(delayLevelFor(-5, levels)).toBe(0);
    expect(delayLevelFor(1, levels)).toBe(1);
    expect(delayLevelFor(1_000, levels)).toBe(1);
    expect(delayLevelFor(1_001, levels)).toBe(2);
    expect(delayLevelFor(3_600_000, levels)).toBe(3);
  });

  it('maps a message group to one queue by its hash', () => {
    expect(queueOfMessageGroup('order-1', 8)).toBe(queueOfMessageGroup('order-1', 8));
    const queues = new Set(Array.from({ length: 64 }, (_, i) => queueOfMessageGroup(`g${i}`, 8)));
    expect([...queues].every((q) => q >= 0 && q < 8)).toBe(true);
    expect(queues.size).toBeGreaterThan(1);
  });

  it('refuses a user property the broker reserves', () => {
    const m = { topic: { name: 't' }, userProperties: { DELAY: '3' }, systemProperties: { keys: [], messageId: 'id', bodyEncoding: 'IDENTITY', messageType: 'NORMAL', bornHost: '', storeHost: '', queueId: 0 }, body: Buffer.alloc(0) } as Message;
    const out = propertiesOf(m, 0);
    expect(typeof out === 'string' ? out : out.code).toBe('ILLEGAL_MESSAGE_PROPERTY_KEY');
  });
});

describe('receipt handles, statuses, endpoints and config', () => {
  it('reads back a receipt handle it issued and refuses anything else', () => {
    const h = { topic: 'T', queueId: 3, offset: 42, nonce: 7 };
    expect(decodeHandle(encodeHandle(h))).toEqual(h);
    expect(decodeHandle('not-a-handle')).toBeUndefined();
    expect(decodeHandle(Buffer.from(JSON.stringify(['other', 'T', 3, 42, 7])).toString('base64url'))).toBeUndefined();
  });

  it('answers remoting refusals with the v5 codes a client acts on', () => {
    expect(statusOfResponse(ResponseCode.SYSTEM_BUSY, 'busy').code).toBe('TOO_MANY_REQUESTS');
    expect(statusOfResponse(ResponseCode.NO_PERMISSION, 'no').code).toBe('FORBIDDEN');
    expect(statusOfResponse(ResponseCode.TOPIC_NOT_EXIST, 'no').code).toBe('TOPIC_NOT_FOUND');
    expect(statusOfResponse(ResponseCode.MESSAGE_ILLEGAL, 'bad').code).toBe('BAD_REQUEST');
    expect(statusOfResponse(ResponseCode.SERVICE_NOT_AVAILABLE, 'x').message).toBe('x');
  });

  it('routes the client to the address it used, or to this node when it named several', () => {
    const self = endpointsOf('10.0.0.1', 8081);
    expect(answerEndpoints(endpointsOf('example.com', 9000), self)).toEqual({ scheme: 'DOMAIN_NAME', addresses: [{ host: 'example.com', port: 9000 }] });
    expect(answerEndpoints({ scheme: 'IPv4', addresses: [{ host: 'a', port: 1 }, { host: 'b', port: 2 }] }, self)).toBe(self);
  });

  it('reads grpcListenPort from broker.conf, off by default', () => {
    expect(parseBrokerConfig(BASE_CONF).config.grpcListenPort).toBe(0);
    expect(parseBrokerConfig(`${BASE_CONF}grpcListenPort=8081\n`).config.grpcListenPort).toBe(8081);
    expect(() => parseBrokerConfig(`${BASE_CONF}grpcListenPort=70000\n`)).toThrow(/grpcListenPort/);
  });

  it('tells a consumer its group\'s deliveries (retryMaxTimes + 1) and a producer the body limit', () => {
    const ctx = {
      config: { maxMessageSize: 1234 },
      metadata: { subscriptionGroup: (g: string) => (g === 'short' ? { groupName: g, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 2 } : undefined) },
    } as unknown as BrokerContext;
    const consumer = answerSettings(ctx, { clientType: 'PUSH_CONSUMER', subscription: { group: { name: 'short' }, subscriptions: [] } });
    expect(consumer['backoffPolicy']).toMatchObject({ maxAttempts: 3 });
    expect(consumer['subscription']).toMatchObject({ fifo: false, receiveBatchSize: 32 });
    const unknownGroup = answerSettings(ctx, { clientType: 'SIMPLE_CONSUMER', subscription: { group: { name: 'other' } } });
    expect(unknownGroup['backoffPolicy']).toMatchObject({ maxAttempts: 17 });
    const producer = answerSettings(ctx, { clientType: 'PRODUCER', publishing: { topics: [] }, backoffPolicy: { maxAttempts: 5, exponentialBackoff: { initial: { seconds: 0, nanos: 0 }, max: { seconds: 0, nanos: 0 }, multiplier: 1 } } });
    expect(producer['publishing']).toEqual({ topics: [], maxBodySize: 1234, validateMessageType: true });
    expect(producer['backoffPolicy']).toMatchObject({ maxAttempts: 5 });
  });

  it('tells a consumer of an orderly group (consumeMessageOrderly) to consume FIFO, and others not', () => {
    const ctx = {
      config: { maxMessageSize: 1234 },
      metadata: { subscriptionGroup: (g: string) => (g === 'ordered' ? { groupName: g, consumeEnable: true, retryQueueNums: 1, retryMaxTimes: 16, consumeMessageOrderly: true } : undefined) },
    } as unknown as BrokerContext;
    expect(answerSettings(ctx, { clientType: 'PUSH_CONSUMER', subscription: { group: { name: 'ordered' } } })['subscription']).toMatchObject({ fifo: true });
    expect(answerSettings(ctx, { clientType: 'PUSH_CONSUMER', subscription: { group: { name: 'plain' } } })['subscription']).toMatchObject({ fifo: false });
  });

  it('reads grpcTlsEnable from broker.conf, off by default, and asks for the certificate and key', () => {
    expect(parseBrokerConfig(BASE_CONF).config.grpcTlsEnable).toBe(false);
    expect(() => parseBrokerConfig(`${BASE_CONF}grpcTlsEnable=true\n`)).toThrow(/grpcTlsEnable=true needs tlsCertPath/);
    expect(parseBrokerConfig(`${BASE_CONF}grpcTlsEnable=true\ntlsCertPath=a.crt\ntlsKeyPath=a.key\n`).config.grpcTlsEnable).toBe(true);
  });

  it('keeps consumeMessageOrderly of a subscription group config only when true', () => {
    expect(readGroupConfig(Buffer.from(JSON.stringify({ groupName: 'g1', consumeMessageOrderly: true })))).toMatchObject({ consumeMessageOrderly: true });
    expect(readGroupConfig(Buffer.from(JSON.stringify({ groupName: 'g1', consumeMessageOrderly: false })))).not.toHaveProperty('consumeMessageOrderly');
    expect(readGroupConfig(Buffer.from(JSON.stringify({ groupName: 'g1', consumeMessageOrderly: 'yes' })))).toMatch(/consumeMessageOrderly/);
  });
});

describe('v5 signatures and what each RPC needs', () => {
  const metadataOf = (headers: Record<string, string>): grpc.Metadata => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) m.set(k, v);
    return m;
  };

  it('accepts the signature the unmodified client computes, and refuses another secret or a stale time', () => {
    const now = Date.UTC(2026, 11, 5, 18, 0, 0);
    const dateTime = '20261205T180000Z';
    const signature = v5util.sign('s3cret', dateTime);
    const creds = v5CredentialsOf(metadataOf({ authorization: `MQv2-HMAC-SHA1 Credential=ak, SignedHeaders=x-mq-date-time, Signature=${signature}`, 'x-mq-date-time': dateTime }))!;
    expect(creds).toEqual({ accessKey: 'ak', signature, dateTime });
    expect(v5SignedWith(creds, 's3cret', now)).toBe(true);
    expect(v5SignedWith(creds, 'other', now)).toBe(false);
    expect(v5SignedWith(creds, 's3cret', now + GRPC_SIGNATURE_MAX_SKEW_MS + 1_000)).toBe(false);
    expect(v5CredentialsOf(metadataOf({ authorization: 'Basic abc' }))).toBeUndefined();
    expect(v5CredentialsOf(metadataOf({}))).toBeUndefined();
  });

  it('maps each RPC to the topic and group permissions its remoting counterpart needs', () => {
    const topic = { name: 'T' };
    const group = { name: 'G' };
    expect(needsOf('QueryRoute', { topic })).toEqual([{ kind: 'topic', name: 'T', perm: 'ANY' }]);
    expect(needsOf('SendMessage', { messages: [{ topic }, { topic: { name: 'U' } }] })).toEqual([{ kind: 'topic', name: 'T', perm: 'PUB' }, { kind: 'topic', name: 'U', perm: 'PUB' }]);
    expect(needsOf('ReceiveMessage', { group, messageQueue: { topic } })).toEqual([{ kind: 'topic', name: 'T', perm: 'SUB' }, { kind: 'group', name: 'G', perm: 'SUB' }]);
    for (const m of ['AckMessage', 'ChangeInvisibleDuration', 'ForwardMessageToDeadLetterQueue', 'QueryAssignment']) {
      expect(needsOf(m, { group, topic })).toEqual([{ kind: 'topic', name: 'T', perm: 'SUB' }, { kind: 'group', name: 'G', perm: 'SUB' }]);
    }
    expect(needsOf('EndTransaction', { topic })).toEqual([{ kind: 'topic', name: 'T', perm: 'PUB' }]);
    expect(needsOf('Heartbeat', {})).toEqual([]);
    expect(settingsNeeds({ publishing: { topics: [topic] } })).toEqual([{ kind: 'topic', name: 'T', perm: 'PUB' }]);
    expect(settingsNeeds({ subscription: { group, subscriptions: [{ topic }] } })).toEqual([{ kind: 'group', name: 'G', perm: 'SUB' }, { kind: 'topic', name: 'T', perm: 'SUB' }]);
  });
});
