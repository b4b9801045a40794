// A Raft node knows whether it is in contact with its quorum (raft/node/peer-contact.ts): it heard
// its leader, or a majority of the voters (itself counted), within the window.
import { describe, expect, it } from 'vitest';
import { PeerContact } from '../raft/node/peer-contact.js';

describe('peer contact', () => {
  it('counts the leader, or a majority of voters, heard within the window', () => {
    let now = 0;
    const c = new PeerContact(() => now, () => 1000);
    const voters = ['n0', 'n1', 'n2', 'n3', 'n4'];
    // Before the node listens, and for a window after, it has had no chance to hear anyone.
    expect(c.inContact('n0', '', voters)).toBe(true);
    const seen: string[] = [];
    const onMessage = c.listen((m: { from: string }) => seen.push(m.from));
    now = 999;
    expect(c.inContact('n0', '', voters)).toBe(true);
    now = 1001;
    // A window after it started, a node that heard nobody is cut off.
    expect(c.inContact('n0', '', voters)).toBe(false);
    expect(c.inContact('n0', 'n1', voters)).toBe(false);
    // A follower of a 5-node group hears only its leader: in contact.
    onMessage({ from: 'n1' });
    expect(seen).toEqual(['n1']);
    expect(c.inContact('n0', 'n1', voters)).toBe(true);
    // A leader that heard one follower of four has no majority; with two more it has.
    expect(c.inContact('n0', 'n0', voters)).toBe(false);
    onMessage({ from: 'n2' });
    expect(c.inContact('n0', 'n0', voters)).toBe(true);
    // Past the window what was heard no longer counts.
    now = 2500;
    expect(c.inContact('n0', 'n0', voters)).toBe(false);
    expect(c.inContact('n0', 'n1', voters)).toBe(false);
    // A group of one is always in contact with itself.
    expect(c.inContact('n0', 'n0', ['n0'])).toBe(true);
  });
});
