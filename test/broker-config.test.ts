import { describe, expect, it } from 'vitest';
import { BrokerConfigError, parseBrokerConfig, parseProperties } from '../src/broker/broker-config.js';

const seed = `
# a RocketMQ DLedger broker-n0.conf
brokerClusterName = RaftCluster
brokerName=RaftNode00
listenPort=30911
namesrvAddr=127.0.0.1:9876;127.0.0.1:9877
storePathRootDir=/tmp/rmqstore/node00
flushDiskType=SYNC_FLUSH
deleteWhen=04
fileReservedTime=48
autoCreateTopicEnable=false
enableDLegerCommitLog=true
dLegerGroup=RaftNode00
dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913
dLegerSelfId=n0
sendMessageThreadPoolNums=16
`;

describe('broker.conf', () => {
  it('reads the keys of a RocketMQ DLedger broker.conf', () => {
    const { config, warnings } = parseBrokerConfig(seed);
    expect(config).toMatchObject({
      brokerClusterName: 'RaftCluster', brokerName: 'RaftNode00', listenPort: 30911,
      namesrvAddr: ['127.0.0.1:9876', '127.0.0.1:9877'], storePathRootDir: '/tmp/rmqstore/node00',
      flushDiskType: 'SYNC_FLUSH', deleteWhen: [4], fileReservedTime: 48, autoCreateTopicEnable: false,
      dLegerGroup: 'RaftNode00', dLegerSelfId: 'n0',
    });
    expect(warnings).toEqual([expect.stringContaining('sendMessageThreadPoolNums is ignored')]);
  });

  it('reads messageDelayLevelChangeAllowed, off unless set', () => {
    expect(parseBrokerConfig(seed).config.messageDelayLevelChangeAllowed).toBe(false);
    expect(parseBrokerConfig(`${seed}\nmessageDelayLevelChangeAllowed=true\n`).config.messageDelayLevelChangeAllowed).toBe(true);
    expect(() => parseBrokerConfig(`${seed}\nmessageDelayLevelChangeAllowed=perhaps\n`)).toThrow(BrokerConfigError);
  });

  it('reports unknown keys as warnings', () => {
    const { warnings } = parseBrokerConfig(`${seed}\nbrokerColour=blue\n`);
    expect(warnings.some((w) => w.includes('unknown key brokerColour'))).toBe(true);
  });

  it.each([
    ['listenPort=abc', 'listenPort'],
    ['listenPort=70000', 'listenPort'],
    ['flushDiskType=SOMETIMES', 'flushDiskType'],
    ['autoCreateTopicEnable=yes', 'autoCreateTopicEnable'],
    ['deleteWhen=25', 'deleteWhen'],
    ['namesrvAddr=nowhere', 'namesrvAddr'],
    ['dLegerSelfId=n7', 'dLegerSelfId'],
    ['dLegerPeers=garbage', 'dLegerPeers'],
    ['dLegerPeers=127.0.0.1:40911', 'dLegerPeers'],
    ['dLegerPeers=n0-127.0.0.1', 'dLegerPeers'],
    ['dLegerPeers=n0-127.0.0.1:70000', 'dLegerPeers'],
    ['dLegerPeers=n0-127.0.0.1:port', 'dLegerPeers'],
    ['dLegerPeers=n0-127.0.0.1:40911;n0-127.0.0.1:40912', 'dLegerPeers'],
    ['dLegerPeers=n.0-127.0.0.1:40911', 'dLegerPeers'],
    ['enableDLegerCommitLog=false', 'enableDLegerCommitLog'],
    ['dLegerPeerSecret=too-short', 'dLegerPeerSecret'],
    ['dLegerPeerSecret=0123456789abcdef0123,short', 'dLegerPeerSecret'],
    ['dLegerPeerSecret=0123456789abcdef0123\ndLegerPeerSecretFile=peer.secret', 'dLegerPeerSecretFile'],
    ['mappedFileSizeCommitLog=8388609', 'mappedFileSizeCommitLog'],
    ['mappedFileSizeCommitLog=4194304', 'mappedFileSizeCommitLog'],
    ['maxMessageSize=16000000\nmappedFileSizeCommitLog=8388608', 'mappedFileSizeCommitLog'],
  ])('stops on %s with an error naming the key', (line, key) => {
    let caught: unknown;
    try { parseBrokerConfig(`${seed}\n${line}\n`); } catch (err) { caught = err; }
    expect(caught).toBeInstanceOf(BrokerConfigError);
    expect((caught as BrokerConfigError).key).toBe(key);
    expect((caught as Error).message).toContain(key);
  });

  it.each([
    ['dLegerPeers=garbage', /^broker\.conf: dLegerPeers=garbage is invalid: peer "garbage" has no id; expected "<id>-<host>:<port>"$/],
    ['dLegerPeers=n0-127.0.0.1:0', /^broker\.conf: dLegerPeers=n0-127\.0\.0\.1:0 is invalid: .*port "0"; expected 1\.\.65535$/],
    ['dLegerPeers=n0-a:1;n1-b:2;n0-c:3', /^broker\.conf: dLegerPeers=n0-a:1;n1-b:2;n0-c:3 is invalid: peer id "n0" appears twice$/],
  ])('says on one line what is wrong with %s', (line, message) => {
    expect(() => parseBrokerConfig(`${seed}\n${line}\n`)).toThrow(message);
  });

  it.each(['n', 'n0-127.0.0.1:40911', 'N0', '127.0.0.1:40911'])('takes dLegerSelfId=%s only if it is exactly the id of a peer', (selfId) => {
    expect(() => parseBrokerConfig(`${seed}\ndLegerSelfId=${selfId}\n`)).toThrow(
      expect.objectContaining({ key: 'dLegerSelfId', message: `broker.conf: dLegerSelfId=${selfId} is not one of the ids in dLegerPeers (n0, n1, n2)` }),
    );
    expect(parseBrokerConfig(`${seed}\ndLegerSelfId=n2\n`).config.dLegerSelfId).toBe('n2');
  });

  it('says a segment size that is not a multiple of 4096 must be one, and one too small for the largest message what it needs', () => {
    expect(() => parseBrokerConfig(`${seed}\nmappedFileSizeCommitLog=8388609\n`)).toThrow(/mappedFileSizeCommitLog=8388609 is invalid: expected a multiple of 4096/);
    expect(() => parseBrokerConfig(`${seed}\nmappedFileSizeCommitLog=4194304\n`)).toThrow(/cannot hold a message of maxMessageSize=4194304: expected at least 4259840/);
    expect(parseBrokerConfig(`${seed}\nmappedFileSizeCommitLog=4259840\n`).config.mappedFileSizeCommitLog).toBe(4259840);
  });

  it('reads the connection and disk limits, with defaults, and refuses a pause mark above the hard backlog cap', () => {
    expect(parseBrokerConfig(seed).config).toMatchObject({
      serverChannelMaxIdleTimeSeconds: 120, serverFrameReadTimeoutSeconds: 30, serverMaxConnectionsPerAddress: 1000,
      serverMaxConnections: 10_000, serverInboundFrameBudgetBytes: 256 * 1024 * 1024,
      serverWriteBacklogPauseBytes: 4 * 1024 * 1024, serverMaxWriteBacklogBytes: 64 * 1024 * 1024, diskSpaceWarningLevelRatio: 90,
    });
    const { config, warnings } = parseBrokerConfig(`${seed}\nserverChannelMaxIdleTimeSeconds=30\nserverMaxConnectionsPerAddress=50\ndiskSpaceWarningLevelRatio=80\n`);
    expect(config).toMatchObject({ serverChannelMaxIdleTimeSeconds: 30, serverMaxConnectionsPerAddress: 50, diskSpaceWarningLevelRatio: 80 });
    expect(warnings.filter((w) => w.includes('unknown key'))).toEqual([]);
    expect(() => parseBrokerConfig(`${seed}\nserverWriteBacklogPauseBytes=${32 * 1024 * 1024}\nserverMaxWriteBacklogBytes=${16 * 1024 * 1024}\n`)).toThrow(/serverWriteBacklogPauseBytes=33554432 must not exceed serverMaxWriteBacklogBytes=16777216/);
    expect(() => parseBrokerConfig(`${seed}\ndiskSpaceWarningLevelRatio=100\n`)).toThrow(/diskSpaceWarningLevelRatio=100 is invalid: expected an integer in 1..99/);
  });

  it('requires the Raft peers', () => {
    expect(() => parseBrokerConfig('brokerName=a\n')).toThrow(/dLegerPeers is required/);
  });

  it('parses properties with both separators and comments', () => {
    expect([...parseProperties('a=1\n! c\nb : two words\n#x=y')]).toEqual([['a', '1'], ['b', 'two words']]);
    expect(() => parseProperties('justakey')).toThrow(/expected key=value/);
  });
});
