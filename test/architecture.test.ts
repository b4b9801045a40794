// Enforces the import direction of docs/architecture.md: raft/ is a library that stands alone and
// its pure core touches no file system, network, clock, timer or global randomness; src/common
// (shared by store, broker and client) imports nothing else of ours; src/protocol only
// src/common; src/namesrv and src/client only src/protocol and src/common; src/store no network
// module, no Raft but the MappedFile primitive, none of the server or client layers; jepsen-like/
// only the public entry points of src/ listed in JEPSEN_ALLOWED_SRC. Each rule has a test that
// shows it can fail.
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

/** What a relative import of `path` points at, from the root (`src/common/errors.js`); a package stays as written. */
function targetOf(path: string, spec: string): string {
  return spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(path), spec)) : spec;
}

/** Our own code: the three top folders whose imports these rules govern. */
function isOurs(target: string): boolean {
  return /^(src|raft|jepsen-like)\//.test(target);
}

/**
 * The folders of src/ each layer may import besides itself (docs/architecture.md,
 * "Layers"). Packages (node:*, npm) are not limited here.
 */
const LAYER_ALLOWED: Record<string, readonly string[]> = {
  'src/protocol/': ['src/common/'],
  'src/namesrv/': ['src/protocol/', 'src/common/', 'src/metrics/'],
  // Metric definitions and the HTTP endpoint: they read what their owner hands in, never the
  // broker, the store or Raft themselves (src/broker/node-metrics.ts adapts those).
  'src/metrics/': ['src/common/'],
  // The dashboard is a client tool: it reads the cluster through the SDK and the metrics
  // endpoints (over HTTP), never a broker's internals.
  'src/dashboard/': ['src/client/', 'src/common/'],
  'src/client/': ['src/protocol/', 'src/common/'],
  // The gRPC endpoint is a protocol adapter: it reaches the broker only through its public
  // context and the processors remoting requests use, never the store, Raft or the controller.
  'src/grpc/': ['src/common/', 'src/protocol/', 'src/broker/broker-context.js', 'src/broker/processors/', 'src/broker/schedule/delay-levels.js'],
};

/**
 * What jepsen-like/ may import of src/: the client SDK's and the remoting protocol's public entry
 * points (what it imports today). The brokers and NameServer it drives as processes
 * (dist/src/broker/main.js, dist/src/namesrv/main.js), never as modules.
 */
export const JEPSEN_ALLOWED_SRC: readonly string[] = ['src/client/index.js', 'src/protocol/index.js'];

/**
 * The dev-cluster kit, which tools (the CLI, the benches, jepsen-like, the tests) use to run
 * clusters and libraries never import: the process supervisor, pid files, the port finder and the
 * dist/ resolver in raft/tools/ (so the Raft demo can use them too), and the broker cluster
 * pieces (layout, broker.conf, cluster.json, launcher, leader wait, LocalCluster) in src/devkit/.
 */
export const KIT_FOLDERS: readonly string[] = ['raft/tools/', 'src/devkit/'];

/**
 * Files that may import node:child_process although they are not the supervisor: none of them
 * launches a cluster process.
 */
export const CHILD_PROCESS_ALLOWED: Record<string, string> = {
  'src/bench/client-bench.ts': 'a short-lived worker of the client benchmark, talking over its pipes',
  'jepsen-like/db/node-fs.ts': 'mount and umount of a node file system',
  'jepsen-like/run/launchers.ts': 'runs the revert-to-durable tool to its end (execFile)',
  'src/devkit/cluster-tls.ts': 'runs openssl to its end (execFileSync) to make the test CA of `cluster up --tls`',
};

/**
 * One home for each piece of the kit: what only that home may contain (code, comments removed).
 * A second launcher, port finder, conf template or dist/ resolver would match one of these.
 */
export const KIT_HOMES: { what: string; home: string; pattern: RegExp; except?: string | string[] }[] = [
  { what: "the broker's or NameServer's compiled entry point", home: 'src/devkit/processes.ts', pattern: /src['"]?\s*[,/]\s*['"]?(broker|namesrv)['"]?\s*[,/]\s*['"]?main\.js/ },
  { what: 'a broker.conf template (enableDLegerCommitLog)', home: 'src/devkit/broker-conf.ts', pattern: /enableDLegerCommitLog/, except: 'src/broker/' },
  { what: 'a free-port finder', home: 'raft/tools/free-ports.ts', pattern: /(function|const)\s+(canListen|portFree|\w*[Ff]ree\w*(Port|Ports|Block)\w*)\b/ },
  { what: 'a dist/ resolver', home: 'raft/tools/process/dist-dir.ts', pattern: /['"]dist['"]/ },
  { what: 'a check that a PID is still ours (its start time or command line)', home: 'raft/tools/process/process-identity.ts', pattern: /\/cmdline|processStartTicks\s*\(pid: number\)/ },
  // One plan of ports for groups, nodes, doors and proxies (rmq cluster, LocalCluster, jepsen-like); raft/ may not import src/.
  // Tools (the kit, the CLI, jepsen-like, the dashboard) read a node's Raft status through the SDK's one call; the broker serves it.
  { what: 'a RAFT_STATUS request of its own', home: 'src/client/admin.ts', pattern: /\bRAFT_STATUS\b/, except: ['src/broker/', 'src/protocol/'] },
  // The tools of src/ poll through src/common/poll.ts; raft/ and jepsen-like/ may not import src/common, and the client's own waits are library code.
  { what: 'a deadline loop of its own (while (... Date.now() < ...))', home: 'src/common/poll.ts', pattern: /\bwhile\s*\([^)]*Date\.now\(\)\s*</, except: ['raft/', 'jepsen-like/', 'src/client/'] },
  { what: 'a port plan (port arithmetic from a base port)', home: 'src/devkit/port-plan.ts', pattern: /(function|const)\s+\w*[Pp]ortPlan\w*\s*[(=]|\b(basePort|base)\s*\+\s*\d+\s*\+/, except: 'raft/' },
];

/** The house bound on a source file's length (docs/architecture.md); tests are not bound by it. */
const MAX_FILE_LINES = 450;

const stripComments = (source: string): string => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');

/** Node modules that speak to the network: the store must not. */
const NETWORK_MODULES = /^(node:)?(net|dgram|http|https|http2|tls|dns|dns\/promises)$/;

/** Returns the violations of the rules for the files given (path relative to the root). */
export function violations(files: { path: string; source: string }[]): string[] {
  const found: string[] = [];
  for (const { path, source } of files) {
    const specs = importsOf(source);
    for (const [layer, allowed] of Object.entries(LAYER_ALLOWED)) {
      if (!path.startsWith(layer)) continue;
      for (const s of specs) {
        const target = targetOf(path, s);
        if (isOurs(target) && !target.startsWith(layer) && !allowed.some((a) => target.startsWith(a))) {
          found.push(`${path} (${layer.slice(0, -1)}: only ${allowed.join(', ')}) imports ${s}`);
        }
      }
    }
    if (path.startsWith('jepsen-like/')) {
      for (const s of specs) {
        const target = targetOf(path, s);
        if (KIT_FOLDERS.some((k) => target.startsWith(k)) || target === 'raft/coded-error.js') continue;
        if (target.startsWith('raft/') || (target.startsWith('src/') && !JEPSEN_ALLOWED_SRC.includes(target))) {
          found.push(`${path} (jepsen-like: only ${JEPSEN_ALLOWED_SRC.join(', ')} and the kit) imports ${s}`);
        }
      }
    }
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
      // The store knows nothing of Raft or the network: of raft/ it may use the storage primitive
      // MappedFile only (the log itself comes in through src/store/commit-log.ts's interfaces),
      // of src/ only src/common, and no Node module that opens a socket.
      for (const s of specs) {
        const target = targetOf(path, s);
        const raftImport = target.startsWith('raft/') && target !== 'raft/storage/mapped-file.js';
        const srcImport = target.startsWith('src/') && !target.startsWith('src/store/') && !target.startsWith('src/common/');
        if (raftImport || srcImport || target.startsWith('jepsen-like/') || NETWORK_MODULES.test(s)) found.push(`${path} (store) imports ${s}`);
      }
    }
    // Libraries never import tools: raft/'s library (everything but raft/tools/) stays free of its
    // demo processes, load driver and benches; src/'s libraries of the CLI and the benchmarks (the
    // layer rules above already hold protocol, namesrv, client, store and common to less; the
    // broker is the library they leave open).
    if (path.startsWith('raft/') && !path.startsWith('raft/tools/')) {
      for (const s of specs) {
        if (targetOf(path, s).startsWith('raft/tools/')) found.push(`${path} (raft library) imports the tool ${s}`);
      }
    }
    if (path.startsWith('src/broker/')) {
      for (const s of specs) {
        const target = targetOf(path, s);
        if (/^src\/(cli|bench|devkit)\//.test(target) || target.startsWith('raft/tools/')) found.push(`${path} (library) imports the tool ${s}`);
      }
    }
    // The CLI mounts the benchmark (src/cli/commands/bench.ts and src/cli/bench-main.ts), never
    // the other way round: the dependency goes cli -> bench only.
    if (path.startsWith('src/bench/')) {
      for (const s of specs) {
        if (targetOf(path, s).startsWith('src/cli/')) found.push(`${path} (bench) imports the CLI ${s}`);
      }
    }
    // One dev-cluster kit: only the supervisor starts processes, and each piece of the kit has one home.
    if (!path.startsWith('raft/tools/process/') && CHILD_PROCESS_ALLOWED[path] === undefined) {
      // A type-only import (ChildProcess for an IPC channel) starts nothing.
      const runtime = /(?:import(?!\s+type\b)|export)\s[^'"]*?from\s*['"](?:node:)?child_process['"]|(?:require|import)\(\s*['"](?:node:)?child_process['"]/;
      if (runtime.test(source)) found.push(`${path} imports child_process: start processes through the supervisor (raft/tools/process)`);
    }
    const code = stripComments(source);
    for (const k of KIT_HOMES) {
      const except = k.except === undefined ? [] : typeof k.except === 'string' ? [k.except] : k.except;
      if (path !== k.home && !except.some((e) => path.startsWith(e)) && k.pattern.test(code)) found.push(`${path} has ${k.what}: its one home is ${k.home}`);
    }
    if (path.startsWith('src/common/')) {
      // Shared code (logger, errors, the message codec) sits below every other folder of src/.
      for (const s of specs) {
        if (!s.startsWith('.')) continue;
        const target = posix.normalize(posix.join(posix.dirname(path), s));
        if (!target.startsWith('src/common/')) found.push(`${path} (common) imports ${s}`);
      }
    }
  }
  return found;
}

/**
 * The tests use the kit and the one polling helper as the tools do: no second dist/ resolver or
 * PID check, and no local copy of test/helpers/poll.ts (until, pollFor, leaderOf).
 */
export const TEST_RULES: { what: string; use: string; pattern: RegExp; home?: string }[] = [
  { what: 'a dist/ resolver', use: 'distPath or ensureBuilt (test/cli-helpers.ts), brokerScript or namesrvScript (src/devkit/processes.ts)', pattern: /['"]dist['"]|['"]\.\.?\/dist\// },
  { what: 'a check that a PID is alive', use: 'isAlive or isOurProcess (raft/tools/process/process-identity.ts)', pattern: /process\.kill\(\s*\w+\s*,\s*0\s*\)|\/cmdline/ },
  { what: 'a copy of the polling helper', use: 'until, pollFor or leaderOf (test/helpers/poll.ts)', pattern: /\b(function|const)\s+(until|pollFor|leaderOf)\b/, home: 'test/helpers/poll.ts' },
];

/** Test files that keep a check of their own, and why. */
export const TEST_RULE_EXCEPTIONS: Record<string, string> = {};

/** Returns the violations of TEST_RULES for the test files given (path relative to the root). */
export function testViolations(files: { path: string; source: string }[]): string[] {
  const found: string[] = [];
  for (const { path, source } of files) {
    if (TEST_RULE_EXCEPTIONS[path] !== undefined) continue;
    const code = stripComments(source);
    for (const r of TEST_RULES) {
      if (path !== r.home && r.pattern.test(code)) found.push(`${path} has ${r.what}: use ${r.use}`);
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

  it('keeps every file of raft/, src/ and jepsen-like/ at 450 lines or fewer (one idea per file)', () => {
    const tooLong = files.map((f) => ({ path: f.path, lines: f.source.split('\n').length - (f.source.endsWith('\n') ? 1 : 0) })).filter((f) => f.lines > MAX_FILE_LINES);
    expect(tooLong.map((f) => `${f.path}: ${f.lines} lines`)).toEqual([]);
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

  it('would catch src/metrics reading the broker or Raft, and the dashboard reaching past the SDK', () => {
    expect(violations([{ path: 'src/metrics/x.ts', source: "import { BrokerRaft } from '../broker/broker-raft.js';" }])).toHaveLength(1);
    expect(violations([{ path: 'src/metrics/x.ts', source: "import type { RaftNodeStatus } from '../../raft/index.js';" }])).toHaveLength(1);
    expect(violations([{ path: 'src/dashboard/x.ts', source: "import { BrokerController } from '../broker/broker-controller.js';" }])).toHaveLength(1);
    expect(violations([{ path: 'src/dashboard/x.ts', source: "import { Admin } from '../client/index.js';" }])).toEqual([]);
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

  it('has files in every layer it checks', () => {
    for (const layer of ['src/protocol/', 'src/namesrv/', 'src/client/', 'src/store/', 'src/grpc/', 'jepsen-like/']) {
      expect(files.filter((f) => f.path.startsWith(layer)).length, layer).toBeGreaterThan(0);
    }
  });

  // Each layer rule, shown able to fail: imports it must refuse, and imports it must allow.
  const layerRules: { rule: string; path: string; bad: string[]; fine?: string }[] = [
    {
      rule: 'a src/protocol file importing anything of ours but src/common',
      path: 'src/protocol/x.ts',
      bad: [
        "import { BrokerController } from '../broker/broker-controller.js';",
        "import type { SendResult } from '../client/index.js';",
        "import { MessageStore } from '../store/index.js';",
        "import { RouteInfoManager } from '../namesrv/route-info-manager.js';",
        "import { encode } from '../../raft/transport/codec.js';",
        "export * from '../cli/output.js';",
      ],
      fine: "import net from 'node:net';\nimport { assert } from '../common/assert.js';\nimport { RequestCode } from './request-code.js';",
    },
    {
      rule: 'a src/namesrv file importing anything of ours but src/protocol and src/common',
      path: 'src/namesrv/x.ts',
      bad: [
        "import { BrokerConfig } from '../broker/broker-config.js';",
        "import { Admin } from '../client/index.js';",
        "import { MessageStore } from '../store/index.js';",
        "import { parsePeers } from '../../raft/index.js';",
      ],
      fine: "import { Command } from 'commander';\nimport { RemotingServer } from '../protocol/remoting-server.js';\nimport { checkTopicName } from '../common/names.js';\nimport { RouteInfoManager } from './route-info-manager.js';",
    },
    {
      rule: 'a src/client file importing anything of ours but src/protocol and src/common',
      path: 'src/client/x.ts',
      bad: [
        "import { BrokerError } from '../broker/broker-errors.js';",
        "import { NameServer } from '../namesrv/namesrv.js';",
        "import { decodeMessageRecord } from '../store/index.js';",
        "import type { Entry } from '../../raft/index.js';",
        "import { printTable } from '../cli/output.js';",
        "import { runBench } from '../bench/run-bench.js';",
      ],
      fine: "import { makeRequest } from '../protocol/index.js';\nimport { crc32 } from '../common/message/crc32.js';\nimport { Producer } from './producer.js';\nimport { gzipSync } from 'node:zlib';",
    },
    {
      rule: 'a src/grpc file importing the store, Raft or broker internals',
      path: 'src/grpc/x.ts',
      bad: [
        "import { MessageStore } from '../store/index.js';",
        "import { BrokerController } from '../broker/broker-controller.js';",
        "import { BrokerRaft } from '../broker/broker-raft.js';",
        "import { parsePeers } from '../../raft/index.js';",
        "import { Admin } from '../client/index.js';",
      ],
      fine: "import type { BrokerContext } from '../broker/broker-context.js';\nimport { sendMessageProcessor } from '../broker/processors/send-message.js';\nimport { makeRequest } from '../protocol/remoting-command.js';\nimport { parseProperties } from '../common/message/message-properties.js';\nimport * as grpc from '@grpc/grpc-js';",
    },
    {
      rule: 'a src/store file importing a network module, the CLI, the bench or jepsen-like/',
      path: 'src/store/x.ts',
      bad: [
        "import net from 'node:net';",
        "import { createServer } from 'http';",
        "import { printTable } from '../cli/output.js';",
        "import { runBench } from '../bench/run-bench.js';",
        "import { History } from '../../jepsen-like/history/types.js';",
      ],
    },
    {
      rule: 'jepsen-like/ importing broker or store internals, raft/, or a deep path of a public layer',
      path: 'jepsen-like/run/x.ts',
      bad: [
        "import { BrokerController } from '../../src/broker/broker-controller.js';",
        "import { MessageStore } from '../../src/store/index.js';",
        "import { ClientInstance } from '../../src/client/client-instance.js';",
        "import { RemotingClient } from '../../src/protocol/remoting-client.js';",
        "import { RaftNode } from '../../raft/index.js';",
        "import { clusterList } from '../../src/cli/commands/cluster-list.js';",
        "const m = await import('../../src/namesrv/namesrv.js');",
      ],
      fine: "import { Producer } from '../../src/client/index.js';\nimport { makeRequest } from '../../src/protocol/index.js';\nimport { queueKey } from '../history/types.js';\nimport { join } from 'node:path';\nimport { ProcessControl } from '../../raft/tools/process/process-control.js';",
    },
  ];

  it.each(layerRules)('would catch $rule', ({ path, bad, fine }) => {
    for (const source of bad) expect(violations([{ path, source }]), source).toHaveLength(1);
    if (fine !== undefined) expect(violations([{ path, source: fine }])).toEqual([]);
  });

  it('would catch a library importing a tool', () => {
    const cases: [string, string][] = [
      ['raft/node/x.ts', "import { LoadDriver } from '../tools/node-process/load-driver.js';"],
      ['raft/sim/x.ts', "import { benchCore } from '../tools/bench/bench-core.js';"],
      ['src/broker/x.ts', "import { formatTable } from '../cli/output.js';"],
      ['src/broker/x.ts', "import { runBench } from '../bench/run-bench.js';"],
      ['src/broker/x.ts', "import { LocalCluster } from '../../raft/tools/demo/local-cluster.js';"],
    ];
    for (const [path, source] of cases) expect(violations([{ path, source }]), source).toHaveLength(1);
    const fine = "import { RaftNode } from '../../node/raft-node.js';\nimport { sleep } from '../demo/local-cluster.js';";
    expect(violations([{ path: 'raft/tools/bench/x.ts', source: fine }])).toEqual([]);
  });

  it('would catch a src/bench file importing the CLI', () => {
    const bad = [
      "import { formatTable } from '../cli/output.js';",
      "import { action } from '../cli/run-action.js';",
      "export { benchCommand } from '../cli/commands/bench.js';",
    ];
    for (const source of bad) expect(violations([{ path: 'src/bench/x.ts', source }]), source).toHaveLength(1);
    const fine = "import { Admin } from '../client/index.js';\nimport { findFreeBlock } from '../../raft/tools/free-ports.js';\nimport { runBench } from './run-bench.js';";
    expect(violations([{ path: 'src/bench/x.ts', source: fine }])).toEqual([]);
    expect(violations([{ path: 'src/cli/commands/bench.ts', source: "import { runBench } from '../../bench/index.js';" }])).toEqual([]);
  });

  it('would catch a second launcher, port finder, port plan, RAFT_STATUS reader, conf template, dist/ resolver, PID check or deadline loop', () => {
    const cases: [string, string][] = [
      ['src/bench/x.ts', "import { spawn } from 'node:child_process';"],
      ['jepsen-like/db/x.ts', "import { fork } from 'child_process';"],
      ['src/cli/x.ts', "const cp = await import('node:child_process');"],
      ['test-kit/x.ts', "const main = join(dist, 'src', 'broker', 'main.js');"],
      ['src/cli/x.ts', "const ns = `${root}/dist/src/namesrv/main.js`;"],
      ['jepsen-like/run/x.ts', "const conf = { enableDLegerCommitLog: 'true' };"],
      ['src/bench/x.ts', 'export function portFree(port: number): Promise<boolean> {'],
      ['jepsen-like/run/x.ts', 'export async function findFreePorts(n: number) {'],
      ['src/cli/x.ts', "const dist = join(here, '..', 'dist');"],
      ['src/cli/x.ts', 'const cmd = readFileSync(`/proc/${pid}/cmdline`);'],
      ['jepsen-like/db/x.ts', 'const raftProxyPort = (from: number, to: number) => basePort + 60 + from * 3 + to;'],
      ['src/devkit/x.ts', 'export function groupPortPlan(base: number) {'],
      ['jepsen-like/run/x.ts', 'const resp = await client.invoke(addr, makeRequest(RaftRequestCode.RAFT_STATUS), 1000);'],
      ['src/devkit/x.ts', 'while (Date.now() < deadline) {'],
      ['src/cli/demo/x.ts', 'while (!done && Date.now() < until) await sleep(50);'],
    ];
    for (const [path, source] of cases) expect(violations([{ path, source }]), source).toHaveLength(1);
    const fine: [string, string][] = [
      ['src/devkit/processes.ts', "const main = join(dist, 'src', 'broker', 'main.js');"],
      ['src/broker/broker-config.ts', 'enableDLegerCommitLog: true,'],
      ['src/cli/x.ts', "// the broker runs dist/src/broker/main.js\nimport { brokerScript } from '../devkit/processes.js';"],
      ['jepsen-like/run/x.ts', "import { ProcessControl } from '../../raft/tools/process/process-control.js';\nimport { writeBrokerConf } from '../../src/devkit/broker-conf.js';\nimport { CodedError } from '../../raft/coded-error.js';"],
      ['src/bench/client-bench.ts', "import { spawn } from 'node:child_process';"],
      ['jepsen-like/net/x.ts', 'while (Date.now() < deadline && signal?.aborted !== true) {'],
      ['src/devkit/x.ts', "await pollUntil('a leader', timeoutMs, probe);"],
      ['raft/tools/demo/x.ts', "import type { ChildProcess } from 'node:child_process';"],
      ['src/devkit/port-plan.ts', 'brokerPort: (g, i) => base + 1 + slot(g, i),'],
      ['src/broker/disk-handoff.ts', 'const resp = await o.client.invoke(addr, makeRequest(RaftAdminCode.RAFT_STATUS), ASK_TIMEOUT_MS);'],
      ['jepsen-like/run/x.ts', 'return await this.admin.raftStatus(t.brokerAddr);'],
      ['jepsen-like/run/x.ts', "import { clusterPortPlan } from '../../src/devkit/port-plan.js';\nconst plan = clusterPortPlan({ basePort, groups: 2, nodes: 3, proxies: true });"],
    ];
    for (const [path, source] of fine) expect(violations([{ path, source }]), source).toEqual([]);
  });

  it('would catch a library importing the dev-cluster kit', () => {
    expect(violations([{ path: 'src/broker/x.ts', source: "import { startLocalCluster } from '../devkit/local-cluster.js';" }])).toHaveLength(1);
    expect(violations([{ path: 'src/client/x.ts', source: "import { clusterUp } from '../devkit/cluster-launcher.js';" }])).toHaveLength(1);
  });

  it('would catch a raft file importing jepsen-like/', () => {
    expect(violations([{ path: 'raft/sim/x.ts', source: "import '../../jepsen-like/nemesis.js';" }])).toHaveLength(1);
  });
  it('keeps the tests on the kit and the one polling helper', () => {
    // The checker itself names the patterns; every other test file and helper is scanned.
    const tests = tsFiles(join(root, 'test'))
      .map((f) => ({ path: relative(root, f), source: readFileSync(f, 'utf8') }))
      .filter((f) => f.path !== 'test/architecture.test.ts');
    expect(tests.length).toBeGreaterThan(100);
    expect(testViolations(tests)).toEqual([]);
  });

  it('would catch a test resolving dist/, checking a PID or polling on its own', () => {
    const cases: [string, string][] = [
      ['test/x.test.ts', "const main = join(root, 'dist', 'src', 'broker', 'main.js');"],
      ['test/x.test.ts', "spawn(process.execPath, [new URL('../dist/src/namesrv/main.js', import.meta.url).pathname]);"],
      ['test/x-helpers.ts', 'export function alive(pid: number): boolean {\n  try { process.kill(pid, 0); return true; } catch { return false; }\n}'],
      ['test/x.test.ts', 'async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {'],
      ['test/x.test.ts', 'function leaderOf(nodes: RaftNode[], timeoutMs = 5000): Promise<RaftNode> {'],
    ];
    for (const [path, source] of cases) expect(testViolations([{ path, source }]), source).toHaveLength(1);
    const fine: [string, string][] = [
      ['test/x.test.ts', "import { leaderOf, until } from './helpers/poll.js';\nconst leader = await leaderOf(nodes, 8000, { agreed: true });"],
      ['test/x.test.ts', "const cli = distPath('raft', 'tools', 'revert-to-durable-cli.js');\nensureBuilt(cli);\n// runs dist/src/cli/main.js"],
      ['test/helpers/poll.ts', 'export async function until(what: string, timeoutMs: number, cond: () => boolean): Promise<void> {'],
      ['test/x.test.ts', "process.kill(pid, 'SIGKILL');"],
    ];
    for (const [path, source] of fine) expect(testViolations([{ path, source }]), source).toEqual([]);
  });
});
