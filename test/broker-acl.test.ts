// The ACL rules and checks as units: plain_acl.yml parsing (RocketMQ's format, errors naming the
// field), address patterns, the request signature (compared with the one ali-ons computes, an
// implementation that shares nothing with ours), and every verdict of the checker.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { AclChecker } from '../src/broker/acl/acl-checker.js';
import { AddressPattern, ipOf } from '../src/broker/acl/address-pattern.js';
import { AclConfigError, parsePlainAcl, Perm } from '../src/broker/acl/plain-acl.js';
import { aclSignature, signRequest } from '../src/protocol/acl-signature.js';
import { FrameDecoder, makeRequest, RequestCode, type RemotingCommand } from '../src/protocol/index.js';

const require = createRequire(import.meta.url);
// eslint-disable-next-line @typescript-eslint/no-require-imports
const Channel = require('ali-ons/lib/channel.js') as { prototype: { beforeRequest(this: unknown, cmd: unknown): void } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const OnsCommand = require('ali-ons/lib/protocol/command/remoting_command.js') as {
  createRequestCommand(code: number, header: unknown): { extFields: Record<string, string>; body?: Buffer; encode(): Buffer };
};

const RULES = `
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.{1,2}
accounts:
  - accessKey: producerKey
    secretKey: producerSecret
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - Orders=PUB
      - Audit=PUB|SUB
  - accessKey: readerKey
    secretKey: readerSecret
    defaultTopicPerm: SUB
    defaultGroupPerm: SUB
    groupPerms:
      - blocked=DENY
  - accessKey: adminKey
    secretKey: adminSecret
    admin: true
  - accessKey: trustedKey
    secretKey: trustedSecret
    whiteRemoteAddress: 172.16.0.1-9
`;

describe('plain_acl.yml', () => {
  it('parses accounts, permissions and white lists in RocketMQ format', () => {
    const acl = parsePlainAcl(RULES);
    expect(acl.accounts.size).toBe(4);
    const p = acl.accounts.get('producerKey')!;
    expect(p).toMatchObject({ admin: false, defaultTopicPerm: Perm.DENY, defaultGroupPerm: Perm.SUB });
    expect(p.topicPerms.get('Orders')).toBe(Perm.PUB);
    expect(p.topicPerms.get('Audit')).toBe(Perm.PUB | Perm.SUB);
    expect(acl.accounts.get('adminKey')!.admin).toBe(true);
    expect(acl.globalWhiteRemoteAddresses.map((w) => w.text)).toEqual(['10.10.103.*', '192.168.0.{1,2}']);
  });

  it('refuses a bad file with a message naming the field', () => {
    const cases: [string, RegExp][] = [
      ['accounts:\n  - secretKey: s\n', /accounts\[0\]\.accessKey is required/],
      ['accounts:\n  - accessKey: a\n', /accounts\[0\]\.secretKey is required/],
      ['accounts:\n  - accessKey: a\n    secretKey: s\n    topicPerms: [Orders=WRITE]\n', /accounts\[0\]\.topicPerms\[0\].*WRITE/],
      ['accounts:\n  - accessKey: a\n    secretKey: s\n    defaultTopicPerm: DENY|PUB\n', /DENY cannot be combined/],
      ['accounts:\n  - accessKey: a\n    secretKey: s\n  - accessKey: a\n    secretKey: t\n', /appears twice/],
      ['globalWhiteRemoteAddresses: [300.1.1.1]\n', /above 255/],
      ['accounts: {a: 1}\n', /accounts must be a list/],
      ['accounts: [\n', /not valid YAML/],
    ];
    for (const [text, message] of cases) {
      expect(() => parsePlainAcl(text), text).toThrow(AclConfigError);
      expect(() => parsePlainAcl(text), text).toThrow(message);
    }
  });
});

describe('address patterns', () => {
  it('match *, exact addresses, wildcards, ranges and sets per part', () => {
    const m = (pattern: string, ip: string): boolean => AddressPattern.parse(pattern, 'x').matches(ip);
    expect(m('*', '8.8.8.8')).toBe(true);
    expect(m('10.0.0.1', '10.0.0.1')).toBe(true);
    expect(m('10.0.0.1', '10.0.0.2')).toBe(false);
    expect(m('10.0.*.*', '10.0.7.9')).toBe(true);
    expect(m('10.0.*.*', '10.1.7.9')).toBe(false);
    expect(m('10.0.0.1-9', '10.0.0.9')).toBe(true);
    expect(m('10.0.0.1-9', '10.0.0.10')).toBe(false);
    expect(m('10.0.0.{1,5}', '10.0.0.5')).toBe(true);
    expect(m('10.0.0.{1,5}', '10.0.0.4')).toBe(false);
    expect(ipOf('127.0.0.1:4321')).toBe('127.0.0.1');
    expect(ipOf('[::1]:4321')).toBe('::1');
  });
});

describe('the request signature', () => {
  it('is the one ali-ons computes for the same request, as the broker decodes it', () => {
    const onsCmd = OnsCommand.createRequestCommand(RequestCode.SEND_MESSAGE_V2, { a: 'group', b: 'Orders', e: 3, k: false, g: 1733380000000 });
    onsCmd.body = Buffer.from('body bytes');
    Channel.prototype.beforeRequest.call({ accessKey: 'producerKey', secretKey: 'producerSecret', onsChannel: 'ALIYUN' }, onsCmd);
    const decoded: RemotingCommand[] = [];
    expect(new FrameDecoder().push(onsCmd.encode(), (c) => decoded.push(c))).toBeUndefined();
    const req = decoded[0]!;
    const theirs = String(req.extFields['Signature']);
    expect(theirs).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(req.extFields['AccessKey']).toBe('producerKey');
    expect(aclSignature(req.extFields, req.body, 'producerSecret')).toBe(theirs);
    expect(aclSignature(req.extFields, req.body, 'otherSecret')).not.toBe(theirs);
  });
});

describe('the ACL checker', () => {
  const acl = new AclChecker(parsePlainAcl(RULES));
  const sign = (code: number, fields: Record<string, string>, key: string, secret: string, body?: Buffer) => {
    const req = makeRequest(code, { ...fields }, body === undefined ? {} : { body });
    signRequest(req, { accessKey: key, secretKey: secret });
    return req;
  };
  const client = '127.0.0.1:50000';

  it('lets white-listed addresses through without a key', () => {
    expect(acl.check(makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC), '10.10.103.7:1').ok).toBe(true);
    expect(acl.check(makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC), '192.168.0.2:1').ok).toBe(true);
    expect(acl.check(makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC), '192.168.0.3:1').ok).toBe(false);
  });

  it('refuses a request without a key, with an unknown key, or with a wrong signature', () => {
    expect(acl.check(makeRequest(RequestCode.GET_MAX_OFFSET, { topic: 'Orders', queueId: '0' }), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/no AccessKey/) });
    expect(acl.check(sign(RequestCode.GET_MAX_OFFSET, {}, 'nobody', 'x'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/nobody is not an account/) });
    expect(acl.check(sign(RequestCode.GET_MAX_OFFSET, {}, 'producerKey', 'wrong'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/signature/) });
    const altered = sign(RequestCode.SEND_MESSAGE_V2, { b: 'Orders' }, 'producerKey', 'producerSecret', Buffer.from('a'));
    altered.body = Buffer.from('b');
    expect(acl.check(altered, client).ok).toBe(false);
  });

  it('checks PUB and SUB on topics and groups, with the account defaults and DENY', () => {
    expect(acl.check(sign(RequestCode.SEND_MESSAGE_V2, { b: 'Orders' }, 'producerKey', 'producerSecret', Buffer.from('m')), client).ok).toBe(true);
    expect(acl.check(sign(RequestCode.SEND_MESSAGE_V2, { b: 'Other' }, 'producerKey', 'producerSecret'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/no PUB permission on topic Other \(it has DENY\)/) });
    expect(acl.check(sign(RequestCode.SEND_MESSAGE_V2, { b: 'Orders' }, 'readerKey', 'readerSecret'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/no PUB permission on topic Orders \(it has SUB\)/) });
    const pull = (group: string) => sign(RequestCode.PULL_MESSAGE, { topic: 'Orders', consumerGroup: group, queueId: '0' }, 'readerKey', 'readerSecret');
    expect(acl.check(pull('g1'), client).ok).toBe(true);
    expect(acl.check(pull('blocked'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/group blocked/) });
    // A send to a retry topic is the group's resource: SUB on the group.
    expect(acl.check(sign(RequestCode.SEND_MESSAGE_V2, { b: '%RETRY%g1' }, 'readerKey', 'readerSecret'), client).ok).toBe(true);
    // A heartbeat needs SUB on its consumer groups and subscribed topics.
    const hb = (topic: string) => sign(RequestCode.HEART_BEAT, {}, 'producerKey', 'producerSecret', Buffer.from(JSON.stringify({ consumerDataSet: [{ groupName: 'g', subscriptionDataSet: [{ topic }] }] })));
    expect(acl.check(hb('Audit'), client).ok).toBe(true);
    expect(acl.check(hb('Orders'), client).ok).toBe(false);
  });

  it('needs an admin account for administration, and lets an account pass from its own white-listed address', () => {
    expect(acl.check(sign(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'T' }, 'readerKey', 'readerSecret'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/not an admin account/) });
    expect(acl.check(sign(RequestCode.UPDATE_AND_CREATE_TOPIC, { topic: 'T' }, 'adminKey', 'adminSecret'), client).ok).toBe(true);
    expect(acl.check(makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { AccessKey: 'trustedKey' }), '172.16.0.5:1').ok).toBe(true);
    expect(acl.check(makeRequest(RequestCode.UPDATE_AND_CREATE_TOPIC, { AccessKey: 'trustedKey' }), '172.16.0.15:1').ok).toBe(false);
    expect(acl.counters.refused['not-admin']).toBeGreaterThan(0);
  });

  // Creating topics, deleting retention segments, resetting offsets, ACL administration and our
  // Raft codes (leadership transfer, status, replica digest): only an admin account may.
  it.each([17, 329, 220, 50, 51, 52, 200, 207, 215, 222, 1500, 1501, 1502])('treats request %i as administration', (code) => {
    expect(acl.check(sign(code, {}, 'readerKey', 'readerSecret'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(new RegExp(`request ${code} is administration`)) });
    expect(acl.check(makeRequest(code), client).ok).toBe(false);
    expect(acl.check(sign(code, {}, 'adminKey', 'adminSecret'), client).ok).toBe(true);
  });
});
