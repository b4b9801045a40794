// Measures the pure core's cost per entry: proposals through propose + ready + advance, with
// in-memory storage and synchronous delivery between three cores (no I/O, no encoding).
// Run: node dist/raft/sim/bench-core.js [entries] [batch]
import type { Message } from '../../core/messages.js';
import { Raft } from '../../core/raft.js';
import { MemoryStorage } from '../../sim/memory-storage.js';
import { Prng } from '../../sim/prng.js';

function cluster(size: number): { rafts: Map<string, Raft>; logs: Map<string, MemoryStorage> } {
  const ids = Array.from({ length: size }, (_, i) => `n${i}`);
  const rafts = new Map<string, Raft>();
  const logs = new Map<string, MemoryStorage>();
  const rng = new Prng(7);
  for (const id of ids) {
    const log = new MemoryStorage();
    logs.set(id, log);
    rafts.set(id, new Raft({
      id, peers: ids, log, hardState: log.hardState(), applied: 0, electionTicks: 10, heartbeatTicks: 1,
      random: () => rng.next(), maxInflightMsgs: 256, maxInflightBytes: 64 << 20, maxAppBytes: 1 << 20,
      preVote: true, checkQuorum: true,
    }));
  }
  return { rafts, logs };
}

/** Drains every core once; returns the messages produced. */
function drain(rafts: Map<string, Raft>, logs: Map<string, MemoryStorage>, out: Message[]): void {
  for (const [id, r] of rafts) {
    if (!r.hasReady()) continue;
    const rd = r.ready();
    const log = logs.get(id)!;
    if (rd.entries.length > 0) {
      log.append(rd.entries);
      r.persisted(log.lastIndex());
    }
    if (rd.hardState) log.setHardState(rd.hardState);
    for (const m of rd.messages) out.push(m);
    for (const m of rd.messagesAfterPersist) out.push(m);
    r.advance(rd);
  }
}

function run(size: number, total: number, batch: number): { seconds: number; committed: number } {
  const { rafts, logs } = cluster(size);
  const leader = rafts.get('n0')!;
  let msgs: Message[] = [];
  for (let i = 0; i < 100 && leader.status().role !== 'leader'; i++) {
    leader.tick();
    for (let round = 0; round < 10; round++) {
      drain(rafts, logs, msgs);
      const q = msgs;
      msgs = [];
      for (const m of q) rafts.get(m.to)!.step(m);
    }
  }
  if (leader.status().role !== 'leader') throw new Error('no leader');
  const payload = new Uint8Array(1024);
  const payloads = new Array<Uint8Array>(batch).fill(payload);
  const start = performance.now();
  let proposed = 0;
  // Each "turn": one batch proposed, every core drained once, messages delivered.
  for (let turn = 0; proposed < total && turn < total; turn++) {
    const res = leader.propose(payloads);
    if (!res.ok) throw new Error('lost leadership');
    proposed += batch;
    drain(rafts, logs, msgs);
    const q = msgs;
    msgs = [];
    for (const m of q) rafts.get(m.to)!.step(m);
  }
  for (let round = 0; round < 20; round++) {
    drain(rafts, logs, msgs);
    const q = msgs;
    msgs = [];
    for (const m of q) rafts.get(m.to)!.step(m);
  }
  const seconds = (performance.now() - start) / 1000;
  return { seconds, committed: leader.status().commit };
}

const total = Number(process.argv[2] ?? 1_000_000);
const batch = Number(process.argv[3] ?? 64);
for (const size of [1, 3]) {
  const r = run(size, total, batch);
  console.log(`${size} node(s): ${r.committed} entries committed in ${r.seconds.toFixed(2)} s = ${(r.committed / r.seconds / 1e6).toFixed(2)} M entries/s (batch ${batch})`);
}
