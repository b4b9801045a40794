// Front doors split each topic's queues among the nodes of a group (src/broker/front-door-map.ts):
// the shares must be disjoint, cover every queue, and map back and forth without loss.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { doorBrokerName, doorQueueOf, doorShare, groupQueueOf } from '../src/broker/front-door-map.js';
import { parseBrokerConfig } from '../src/broker/broker-config.js';

const PEERS = 'dLegerPeers=n0-127.0.0.1:40911;n1-127.0.0.1:40912;n2-127.0.0.1:40913\ndLegerSelfId=n0\n';

describe('front-door queue map', () => {
  it('gives every group queue to exactly one door, and each door numbers its share 0..k-1', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 9 }), (queues, doors) => {
      const owners = new Map<number, [number, number]>();
      let total = 0;
      for (let d = 0; d < doors; d++) {
        const share = doorShare(queues, d, doors);
        total += share;
        for (let local = 0; local < share; local++) {
          const q = groupQueueOf(local, d, doors);
          expect(q).toBeLessThan(queues);
          expect(owners.has(q)).toBe(false);
          owners.set(q, [d, local]);
          expect(doorQueueOf(q, d, doors)).toBe(local);
          for (let other = 0; other < doors; other++) if (other !== d) expect(doorQueueOf(q, other, doors)).toBeUndefined();
        }
      }
      expect(total).toBe(queues);
      expect(owners.size).toBe(queues);
    }));
  });

  it('keeps "any queue" (a negative id) as it is and names doors after their node', () => {
    expect(groupQueueOf(-1, 2, 3)).toBe(-1);
    expect(doorBrokerName('broker-a', 'n1')).toBe('broker-a-n1');
  });
});

describe('front-door broker.conf keys', () => {
  it('reads frontDoorEnable and frontDoorPorts', () => {
    const { config } = parseBrokerConfig(`${PEERS}frontDoorEnable=true\nfrontDoorPorts=n0:30911;n1:30912;n2:30913\n`);
    expect(config.frontDoorEnable).toBe(true);
    expect(config.frontDoorPorts).toEqual({ n0: 30911, n1: 30912, n2: 30913 });
  });

  it('refuses a door without a port, a port used twice and a port the broker already listens on, naming the key', () => {
    expect(() => parseBrokerConfig(`${PEERS}frontDoorEnable=true\nfrontDoorPorts=n0:30911;n1:30912\n`)).toThrow(/frontDoorPorts.*n2 has none/);
    expect(() => parseBrokerConfig(`${PEERS}frontDoorEnable=true\nfrontDoorPorts=n0:30911;n1:30911;n2:30913\n`)).toThrow(/uses a port twice/);
    expect(() => parseBrokerConfig(`${PEERS}listenPort=30911\nfrontDoorEnable=true\nfrontDoorPorts=n0:30911;n1:30912;n2:30913\n`)).toThrow(/listenPort or grpcListenPort already uses/);
    expect(() => parseBrokerConfig(`${PEERS}frontDoorPorts=n0-30911\n`)).toThrow(/frontDoorPorts=n0-30911 is invalid/);
  });
});
