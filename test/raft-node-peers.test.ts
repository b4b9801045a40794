// parsePeers reads DLedger's `n0-host:port;n1-...` peer lists and names what is wrong with a bad one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPeers, parsePeers } from '../raft/node/parse-peers.js';
import { AckedRanges } from '../raft/tools/demo/acked-ranges.js';

describe('parsePeers', () => {
  it('parses a three-node DLedger peer list', () => {
    expect(parsePeers('n0-127.0.0.1:21001;n1-127.0.0.1:21002;n2-localhost:21003')).toEqual([
      { id: 'n0', host: '127.0.0.1', port: 21001 },
      { id: 'n1', host: '127.0.0.1', port: 21002 },
      { id: 'n2', host: 'localhost', port: 21003 },
    ]);
  });

  it('accepts a trailing separator and whitespace, and a host containing dashes', () => {
    expect(parsePeers(' n0-my-host.example:7000 ; ')).toEqual([{ id: 'n0', host: 'my-host.example', port: 7000 }]);
  });

  it.each([
    ['', /empty/],
    ['127.0.0.1:21001', /no id/],
    ['n0-127.0.0.1', /no host:port/],
    ['n0-127.0.0.1:0', /port "0"/],
    ['n0-127.0.0.1:99999', /port "99999"/],
    ['n0-127.0.0.1:12a', /port "12a"/],
    ['n0-127.0.0.1:1;n0-127.0.0.1:2', /"n0" appears twice/],
    ['n0-127.0.0.1:1;n1-127.0.0.1:1', /127.0.0.1:1 appears twice/],
    ['n.0-127.0.0.1:1', /may only use/],
  ])('rejects %j with ERR_RAFT_BAD_PEERS', (text, message) => {
    expect(() => parsePeers(text)).toThrow(expect.objectContaining({ code: 'ERR_RAFT_BAD_PEERS', message: expect.stringMatching(message) }));
  });

  it('formats what it parses back to an equivalent list', () => {
    const peer = fc.record({ id: fc.stringMatching(/^[a-z0-9_]{1,6}$/), host: fc.constantFrom('127.0.0.1', 'h-1', 'a.b'), port: fc.integer({ min: 1, max: 65535 }) });
    fc.assert(fc.property(fc.uniqueArray(peer, { selector: (p) => p.id, minLength: 1, maxLength: 5 }), (ps) => {
      fc.pre(new Set(ps.map((p) => `${p.host}:${p.port}`)).size === ps.length);
      expect(parsePeers(formatPeers(ps))).toEqual(ps);
    }));
  });
});

describe('acked ranges', () => {
  it('holds exactly the union of the ranges added, in any order', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(200), fc.nat(20))), (rs) => {
      const a = new AckedRanges();
      const expected = new Set<number>();
      for (const [lo, len] of rs) {
        a.add(lo, lo + len);
        for (let s = lo; s <= lo + len; s++) expected.add(s);
      }
      const got = new Set<number>();
      const arr = a.toArray();
      for (let i = 0; i < arr.length; i += 2) {
        if (i > 0) expect(arr[i]!).toBeGreaterThan(arr[i - 1]! + 1);
        for (let s = arr[i]!; s <= arr[i + 1]!; s++) got.add(s);
      }
      expect([...got].sort((x, y) => x - y)).toEqual([...expected].sort((x, y) => x - y));
      expect(a.count()).toBe(expected.size);
    }));
  });
});
