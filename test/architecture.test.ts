// Enforces the import direction of ARCHITECTURE.md: raft/ is a library that stands alone and
// its pure core touches no file system, network, clock, timer or global randomness; src/common
// (shared by store, broker and client) imports nothing else of ours.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...tsFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

function importsOf(source: string): string[] {
  const specs: string[] = [];
  const re = /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g;
  for (const m of source.matchAll(re)) specs.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  return specs;
}

/** Returns the violations of the rules for the files given (path relative to the root). */
export function violations(files: { path: string; source: string }[]): string[] {
  const found: string[] = [];
  for (const { path, source } of files) {
    const specs = importsOf(source);
    if (path.startsWith('raft/')) {
      for (const s of specs) {
        if (/(^|\/)(src|jepsen-like)\//.test(s) && s.startsWith('.')) found.push(`${path} imports ${s}`);
      }
    }
    if (path.startsWith('raft/core/')) {
      for (const s of specs) {
        if (/^(node:)?(fs|fs\/promises|net|timers|timers\/promises|child_process|dgram|http|worker_threads)$/.test(s)) {
          found.push(`${path} (raft core) imports ${s}`);
        }
      }
      const code = source.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      for (const banned of ['Date.now', 'Math.random', 'setTimeout', 'setInterval', 'setImmediate', 'performance.now', 'process.hrtime']) {
        if (code.includes(banned)) found.push(`${path} (raft core) uses ${banned}`);
      }
    }
    if (path.startsWith('src/store/')) {
      // The store knows nothing of Raft: of raft/ it may use the storage primitive MappedFile
      // only; the log itself comes in through src/store/commit-log.ts's interfaces.
      for (const s of specs) {
        const target = s.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), s)) : s;
        const raftImport = target.startsWith('raft/') && target !== 'raft/storage/mapped-file.js';
        if (/\/(broker|namesrv|client|protocol)\//.test(s) || raftImport) found.push(`${path} (store) imports ${s}`);
      }
    }
    if (path.startsWith('src/common/')) {
      // Shared code (logger, errors, the message codec) sits below every other folder of src/.
      for (const s of specs) {
        if (!s.startsWith('.')) continue;
        const target = posix.normalize(posix.join(posix.dirname(path), s));
        if (!target.startsWith('src/common/')) found.push(`${path} (common) imports ${s}`);
      }
    }
    if (path.startsWith('src/client/')) {
      for (const s of specs) {
        if (/\/(broker|namesrv|store)\//.test(s) || /raft\//.test(s)) found.push(`${path} (client) imports ${s}`);
      }
    }
  }
  return found;
}

describe('architecture', () => {
  const files = ['raft', 'src', 'jepsen-like']
    .flatMap((d) => tsFiles(join(root, d)))
    .map((f) => ({ path: relative(root, f), source: readFileSync(f, 'utf8') }));

  it('keeps raft/ free of src/ and jepsen-like/ and its core free of I/O, clocks and randomness', () => {
    expect(violations(files)).toEqual([]);
  });

  it('has a raft core to check', () => {
    expect(files.filter((f) => f.path.startsWith('raft/core/')).length).toBeGreaterThan(0);
  });

  it('would catch a raft file importing from src/', () => {
    expect(violations([{ path: 'raft/node/x.ts', source: "import { a } from '../../src/broker/a.js';" }])).toHaveLength(1);
  });

  it('would catch a raft core file using the clock, timers, randomness, fs or net', () => {
    const bad = [
      "import { readFileSync } from 'node:fs';",
      "import net from 'node:net';",
      'const t = Date.now();',
      'const r = Math.random();',
      'setTimeout(() => {}, 1);',
    ];
    for (const source of bad) {
      expect(violations([{ path: 'raft/core/x.ts', source }]), source).toHaveLength(1);
    }
  });

  it('would catch a src/common file importing another src/ folder or raft/', () => {
    const bad = [
      "import { MessageStore } from '../../store/index.js';",
      "import type { Entry } from '../../../raft/index.js';",
      "export { RequestCode } from '../../protocol/request-code.js';",
    ];
    for (const source of bad) {
      expect(violations([{ path: 'src/common/message/x.ts', source }]), source).toHaveLength(1);
    }
    const fine = "import zlib from 'node:zlib';\nimport { crc32 } from './crc32.js';\nimport { RmqError } from '../errors.js';";
    expect(violations([{ path: 'src/common/message/x.ts', source: fine }])).toEqual([]);
  });

  it('has a src/common message codec to check', () => {
    expect(files.filter((f) => f.path.startsWith('src/common/message/')).length).toBeGreaterThan(0);
  });

  it('would catch a src/store file importing Raft (other than the MappedFile primitive) or the broker', () => {
    const bad = [
      "import type { LogStorage } from '../../raft/index.js';",
      "import { EntryType } from '../../raft/core/types.js';",
      "import { MmapLogStorage } from '../../../raft/storage/index.js';",
      "import type { EntryLocation } from '../../raft/storage/log-storage.js';",
      "import { BrokerRaft } from '../broker/broker-raft.js';",
    ];
    for (const source of bad) {
      const path = source.includes('../../../') ? 'src/store/retention/x.ts' : 'src/store/x.ts';
      expect(violations([{ path, source }]), source).toHaveLength(1);
    }
    const fine = "import { MappedFile } from '../../raft/storage/mapped-file.js';\nimport type { CommitLogReader } from './commit-log.js';";
    expect(violations([{ path: 'src/store/x.ts', source: fine }])).toEqual([]);
  });

  it('would catch a raft file importing jepsen-like/', () => {
    expect(violations([{ path: 'raft/sim/x.ts', source: "import '../../jepsen-like/nemesis.js';" }])).toHaveLength(1);
  });
});
