// ACL accounts changed at run time as units: control entries applied in order override
// plain_acl.yml account by account (a delete also removes a file account), the checker follows
// each applied change, metadata snapshots carry the overrides to a replica reset past them, and
// files and snapshots written before ACL replication (no acl table) still load.
import { describe, expect, it } from 'vitest';
import { AclChecker } from '../src/broker/acl/acl-checker.js';
import { AclRules } from '../src/broker/acl/acl-rules.js';
import { parsePlainAcl } from '../src/broker/acl/plain-acl.js';
import { decodeControlEntry, encodeControlEntry, type MetadataSnapshotPart } from '../src/broker/control-entry.js';
import { MetadataState } from '../src/broker/metadata-state.js';
import { encodeSnapshotParts } from '../src/broker/metadata-snapshot.js';
import { signRequest } from '../src/protocol/acl-signature.js';
import { makeRequest, RequestCode } from '../src/protocol/index.js';
import { silent } from './broker-helpers.js';

const FILE = `
accounts:
  - accessKey: fileKey
    secretKey: fileSecret
    defaultTopicPerm: PUB
  - accessKey: goneKey
    secretKey: goneSecret
    defaultTopicPerm: PUB
`;
const client = '127.0.0.1:5000';

function send(key: string, secret: string, topic = 'T') {
  const req = makeRequest(RequestCode.SEND_MESSAGE_V2, { b: topic });
  signRequest(req, { accessKey: key, secretKey: secret });
  return req;
}

describe('replicated ACL rules', () => {
  it('override plain_acl.yml account by account as the control entries are applied', () => {
    const metadata = new MetadataState();
    const checker = new AclChecker(parsePlainAcl(FILE));
    const rules = new AclRules(checker.fileConfig, metadata, checker, silent);
    const before = rules.fingerprint;
    expect(checker.check(send('newKey', 'newSecret'), client).ok).toBe(false);
    // Entries go through the codec, as they do through the Raft log.
    const roundTrip = <T>(c: T): T => decodeControlEntry(encodeControlEntry(c as never)) as T;
    metadata.apply(1, roundTrip({ kind: 'acl-account-upsert', account: { accessKey: 'newKey', secretKey: 'newSecret', defaultTopicPerm: 'PUB' } }));
    metadata.apply(2, roundTrip({ kind: 'acl-account-delete', accessKey: 'goneKey' }));
    metadata.apply(3, roundTrip({ kind: 'acl-account-upsert', account: { accessKey: 'fileKey', secretKey: 'rotated', defaultTopicPerm: 'SUB' } }));
    expect(checker.check(send('newKey', 'newSecret'), client).ok).toBe(true);
    expect(checker.check(send('goneKey', 'goneSecret'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/goneKey is not an account/) });
    expect(checker.check(send('fileKey', 'fileSecret'), client).ok).toBe(false);
    expect(checker.check(send('fileKey', 'rotated'), client)).toMatchObject({ ok: false, remark: expect.stringMatching(/no PUB permission/) });
    expect(rules.isReplicated('newKey')).toBe(true);
    expect(rules.fingerprint).not.toBe(before);

    // Another replica with the same file and the same entries reaches the same rules.
    const other = new MetadataState();
    const otherRules = new AclRules(new AclChecker(parsePlainAcl(FILE)).fileConfig, other, new AclChecker(parsePlainAcl(FILE)), silent);
    for (const [i, c] of [[1, { kind: 'acl-account-upsert', account: { accessKey: 'newKey', secretKey: 'newSecret', defaultTopicPerm: 'PUB' } }], [2, { kind: 'acl-account-delete', accessKey: 'goneKey' }], [3, { kind: 'acl-account-upsert', account: { accessKey: 'fileKey', secretKey: 'rotated', defaultTopicPerm: 'SUB' } }]] as const) {
      other.apply(i, c as never);
    }
    expect(otherRules.fingerprint).toBe(rules.fingerprint);
  });

  it('travel in metadata snapshots to a replica reset past them, and old snapshots without them still load', () => {
    const leader = new MetadataState();
    leader.apply(1, { kind: 'acl-account-upsert', account: { accessKey: 'newKey', secretKey: 'newSecret', defaultTopicPerm: 'PUB' } });
    leader.apply(2, { kind: 'acl-account-delete', accessKey: 'goneKey' });
    const part = decodeControlEntry(encodeSnapshotParts(leader.toTables(), 2, { maxEntryBytes: 64 * 1024, maxParts: 4 })[0]!) as MetadataSnapshotPart;
    const reset = new MetadataState();
    const checker = new AclChecker(parsePlainAcl(FILE));
    new AclRules(checker.fileConfig, reset, checker, silent);
    reset.markIncomplete(2);
    expect(reset.applySnapshotPart(3, part, { controlEntries: () => [] })).toBe('installed');
    expect([...reset.aclOverrides()]).toEqual([...leader.aclOverrides()]);
    expect(checker.check(send('newKey', 'newSecret'), client).ok).toBe(true);
    expect(checker.check(send('goneKey', 'goneSecret'), client).ok).toBe(false);
    // A metadata.json of an older version has no acl table.
    const old = MetadataState.fromSnapshot({ version: 1, appliedIndex: 4, topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [] } as never);
    expect(old.aclOverrides().size).toBe(0);
    const oldPart = { kind: 'metadata-snapshot', asOfIndex: 1, part: 0, parts: 1, tables: { topics: [], groups: [], offsets: [], delayOffsets: [], leader: null, brokerAddrs: [] } };
    expect(() => decodeControlEntry(encodeControlEntry(oldPart as never))).not.toThrow();
  });
});
