// Keeps docs/errors.md complete: every `'ERR_...'` string literal in raft/, src/ and jepsen-like/
// must have exactly one table row there, and every row must name a code some source still uses.
// And prefixes by layer: every code a layer declares starts with the prefix the doc's table
// gives that layer's path.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const SOURCE_DIRS = ['raft', 'src', 'jepsen-like'];
/** A generous bound on the source tree walk, so a symlink loop cannot hang the test. */
const MAX_FILES = 20_000;

function tsFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) tsFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
    if (out.length > MAX_FILES) throw new Error(`more than ${MAX_FILES} source files under ${dir}`);
  }
  return out;
}

/** Codes written as string literals (single or double quotes) in a source text. */
export function codesInSource(source: string): Set<string> {
  const codes = new Set<string>();
  for (const m of source.matchAll(/(['"])(ERR_[A-Z0-9_]+)\1/g)) codes.add(m[2]!);
  return codes;
}

/** How many table rows of the doc start with each code (`| \`ERR_X\` | ...`). */
export function codeRowsInDoc(doc: string): Map<string, number> {
  const rows = new Map<string, number>();
  // The "Renamed codes" table names old codes on purpose; its rows are not codes of today.
  doc = doc.replace(/<!-- renamed-codes:begin -->[\s\S]*?<!-- renamed-codes:end -->/g, '');
  for (const m of doc.matchAll(/^\|\s*`(ERR_[A-Z0-9_]+)`\s*\|/gm)) rows.set(m[1]!, (rows.get(m[1]!) ?? 0) + 1);
  return rows;
}

/** What is wrong with the doc, given the codes the sources use (each with one file that uses it). */
export function docProblems(used: Map<string, string>, rows: Map<string, number>): string[] {
  const problems: string[] = [];
  for (const [code, file] of used) {
    if (!rows.has(code)) problems.push(`${code} (used in ${file}) has no row in docs/errors.md`);
  }
  for (const [code, count] of rows) {
    if (count > 1) problems.push(`${code} has ${count} rows in docs/errors.md; list it once`);
    if (!used.has(code)) problems.push(`${code} has a row in docs/errors.md but no source uses it`);
  }
  return problems.sort();
}

/** Every source file of raft/, src/ and jepsen-like/, with its path from the root. */
function sourceFiles(): { path: string; source: string }[] {
  return SOURCE_DIRS.flatMap((dir) => tsFiles(join(root, dir), [])).map((file) => ({ path: relative(root, file), source: readFileSync(file, 'utf8') }));
}

function usedCodes(): Map<string, string> {
  const used = new Map<string, string>();
  for (const { path, source } of sourceFiles()) {
    for (const code of codesInSource(source)) {
      if (!used.has(code)) used.set(code, path);
    }
  }
  return used;
}
/** One row of docs/errors.md's "Prefixes by layer" table: files under `path` declare codes starting `prefix`. */
export interface LayerPrefix {
  path: string;
  prefix: string;
}

/** The table rows `| \`src/broker/\` | \`ERR_BROKER_\` | ... |` of the doc. */
export function layerPrefixesInDoc(doc: string): LayerPrefix[] {
  return [...doc.matchAll(/^\|\s*`((?:src|raft|jepsen-like)\/[^`]*)`\s*\|\s*`(ERR_[A-Z0-9]+_)`\s*\|/gm)].map((m) => ({ path: m[1]!, prefix: m[2]! }));
}

/** The layer a file belongs to: the row with the longest path that starts the file's path. */
function layerOf(path: string, layers: readonly LayerPrefix[]): LayerPrefix | undefined {
  let best: LayerPrefix | undefined;
  for (const l of layers) if (path.startsWith(l.path) && (best === undefined || l.path.length > best.path.length)) best = l;
  return best;
}

const stripComments = (source: string): string => source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
const literals = (text: string): string[] => [...text.matchAll(/(['"])(ERR_[A-Z0-9_]+)\1/g)].map((m) => m[2]!);

/** The `'ERR_...'` literals among the top-level arguments of the call whose `(` ends at `start`. */
function argumentCodes(code: string, start: number): string[] {
  const out: string[] = [];
  let depth = 1;
  for (let i = start; i < code.length && i < start + 4000 && depth > 0; i++) {
    const c = code[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < code.length && code[j] !== c) j += code[j] === '\\' ? 2 : 1;
      const text = code.slice(i + 1, j);
      if (depth === 1 && c !== '`' && /^ERR_[A-Z0-9_]+$/.test(text)) out.push(text);
      i = j;
    }
  }
  return out;
}

/**
 * The codes a source declares or throws: the members of a code union type (`type XErrorCode =
 * ...;`), the code type argument of `CodedError<...>`/`RmqError<...>`, a code literal passed to
 * an error's constructor (`new XError(...)`, `super(...)`) and a default `code` parameter. A code
 * only compared with (`err.code === 'ERR_...'`) belongs to the layer that declares it.
 */
export function declaredCodes(source: string): Set<string> {
  const code = stripComments(source);
  const found = new Set<string>();
  const add = (codes: string[]): void => codes.forEach((c) => found.add(c));
  for (const m of code.matchAll(/\btype\s+\w*Code\w*\s*=([^;]*);/g)) add(literals(m[1]!));
  for (const m of code.matchAll(/\b(?:CodedError|RmqError)\s*<([^>]*)>/g)) add(literals(m[1]!));
  for (const m of code.matchAll(/\b(?:new\s+\w*Error|super)\s*\(/g)) add(argumentCodes(code, m.index! + m[0].length));
  for (const m of code.matchAll(/\bcode\??\s*(?::[^=,()]*)?=\s*(['"])(ERR_[A-Z0-9_]+)\1/g)) add([m[2]!]);
  return found;
}

/**
 * What breaks "prefixes by layer": a source file under no layer of the table, a code declared in
 * a layer without that layer's prefix, and a code (declared or only used) whose prefix is no
 * layer's or that no file of its prefix's layer names.
 */
export function prefixProblems(files: readonly { path: string; source: string }[], layers: readonly LayerPrefix[]): string[] {
  const problems: string[] = [];
  const prefixes = [...new Set(layers.map((l) => l.prefix))].sort((a, b) => b.length - a.length);
  const atHome = new Set<string>();
  const used = new Map<string, string>();
  for (const { path, source } of files) {
    const layer = layerOf(path, layers);
    if (layer === undefined) {
      problems.push(`${path} is in no layer of the prefix table in docs/errors.md`);
      continue;
    }
    for (const c of declaredCodes(source)) {
      if (!c.startsWith(layer.prefix)) problems.push(`${c} (declared in ${path}) lacks its layer's prefix ${layer.prefix}`);
    }
    for (const c of codesInSource(source)) {
      if (!used.has(c)) used.set(c, path);
      if (c.startsWith(layer.prefix)) atHome.add(c);
    }
  }
  for (const [c, path] of used) {
    const prefix = prefixes.find((p) => c.startsWith(p));
    if (prefix === undefined) problems.push(`${c} (used in ${path}) starts with no layer's prefix`);
    else if (!atHome.has(c)) problems.push(`${c} (used in ${path}) has the prefix ${prefix} but no file of that layer names it`);
  }
  return [...new Set(problems)].sort();
}

describe('docs/errors.md', () => {
  it('lists every error code the sources use exactly once, and no code they no longer use', () => {
    const used = usedCodes();
    // The scan must actually see the sources, or the comparison below proves nothing.
    // (Which storage file comes first by name does not matter.)
    expect(used.get('ERR_LOG_CORRUPT')).toMatch(/^raft\/storage\/[a-z-]+\.ts$/);
    const rows = codeRowsInDoc(readFileSync(join(root, 'docs/errors.md'), 'utf8'));
    expect(docProblems(used, rows)).toEqual([]);
  });

  it('reports a code used in a source but missing from the doc', () => {
    const used = new Map([...codesInSource(`throw new E('ERR_A'); x = "ERR_B_2";`)].map((c) => [c, 'x.ts'] as const));
    const rows = codeRowsInDoc('| code | class |\n|---|---|\n| `ERR_A` | `E` |\n');
    expect(docProblems(used, rows)).toEqual(['ERR_B_2 (used in x.ts) has no row in docs/errors.md']);
  });

  it('reports a code listed twice and a row whose code no source uses', () => {
    const used = new Map([['ERR_A', 'x.ts']]);
    const rows = codeRowsInDoc('| `ERR_A` | `E` |\n| `ERR_A` | `F` |\n| `ERR_GONE` | `G` |\nprose naming `ERR_OTHER` is not a row\n');
    expect(docProblems(used, rows)).toEqual([
      'ERR_A has 2 rows in docs/errors.md; list it once',
      'ERR_GONE has a row in docs/errors.md but no source uses it',
    ]);
  });

  it('does not count the old codes of the "Renamed codes" table as rows', () => {
    const doc = '<!-- renamed-codes:begin -->\n| `ERR_OLD` | `ERR_NEW` |\n<!-- renamed-codes:end -->\n| `ERR_A` | `E` |\n';
    expect([...codeRowsInDoc(doc).keys()]).toEqual(['ERR_A']);
  });

  it('ignores codes named in comments without quotes', () => {
    expect([...codesInSource('// fails with ERR_RAFT_BUSY when full\nconst c = `ERR_TEMPLATE`;')]).toEqual([]);
  });
});

describe('error code prefixes by layer (docs/errors.md, "Prefixes by layer")', () => {
  const layers = layerPrefixesInDoc(readFileSync(join(root, 'docs/errors.md'), 'utf8'));

  it('reads the prefix table of docs/errors.md', () => {
    expect(layers).toContainEqual({ path: 'src/broker/', prefix: 'ERR_BROKER_' });
    expect(layers).toContainEqual({ path: 'raft/storage/', prefix: 'ERR_LOG_' });
    expect(layers.length).toBeGreaterThanOrEqual(20);
  });

  it('finds every code declared in a layer carrying that layer\'s prefix, and every source file in a layer', () => {
    const files = sourceFiles();
    // The declaration scan must see the sources' codes, or the check below proves nothing.
    expect(files.filter((f) => declaredCodes(f.source).size > 0).length).toBeGreaterThan(20);
    expect(prefixProblems(files, layers)).toEqual([]);
  });

  const table: LayerPrefix[] = [
    { path: 'raft/', prefix: 'ERR_RAFT_' },
    { path: 'raft/storage/', prefix: 'ERR_LOG_' },
    { path: 'src/broker/', prefix: 'ERR_BROKER_' },
    { path: 'src/devkit/', prefix: 'ERR_DEVKIT_' },
    { path: 'src/cli/', prefix: 'ERR_CLI_' },
  ];

  it('reports a code declared without its layer\'s prefix, whichever way it is declared', () => {
    const cases: [string, string, string][] = [
      ['src/broker/x.ts', "throw new BrokerError('ERR_NOT_COMMITTED', 'lost');", 'ERR_NOT_COMMITTED'],
      ['raft/node/x.ts', "export type XErrorCode =\n  | 'ERR_RAFT_A'\n  | 'ERR_B';", 'ERR_B'],
      ['raft/storage/x.ts', "class E extends CodedError<'ERR_RAFT_X'> {}", 'ERR_RAFT_X'],
      ['src/devkit/x.ts', "constructor(message: string, code: DevkitErrorCode = 'ERR_CLI_USAGE') {", 'ERR_CLI_USAGE'],
      ['src/devkit/x.ts', "reject(new DevkitError(`no node ${id}`, 'ERR_CLI_BAD_DIR'));", 'ERR_CLI_BAD_DIR'],
      ['src/cli/x.ts', "super('ERR_DEVKIT_USAGE', message);", 'ERR_DEVKIT_USAGE'],
    ];
    const home = { path: 'src/cli/home.ts', source: "'ERR_NOT_COMMITTED' 'ERR_B' 'ERR_RAFT_X' 'ERR_CLI_USAGE' 'ERR_CLI_BAD_DIR' 'ERR_DEVKIT_USAGE'" };
    for (const [path, source, code] of cases) {
      expect(prefixProblems([{ path, source }, home], table).filter((p) => p.includes('lacks')), source).toEqual([
        `${code} (declared in ${path}) lacks its layer's prefix ${table.filter((l) => path.startsWith(l.path)).sort((a, b) => b.path.length - a.path.length)[0]!.prefix}`,
      ]);
    }
  });

  it('accepts another layer\'s code compared with, and reports a code whose prefix is no layer\'s or not at home', () => {
    const fine = [
      { path: 'raft/node/errors.ts', source: "export type RaftNodeErrorCode = 'ERR_RAFT_NOT_LEADER' | 'ERR_RAFT_BUSY';" },
      { path: 'src/broker/x.ts', source: "if (err.code === 'ERR_RAFT_NOT_LEADER') throw new BrokerError('ERR_BROKER_NOT_LEADER', m, { responseCode: 14 });" },
    ];
    expect(prefixProblems(fine, table)).toEqual([]);
    expect(prefixProblems([...fine, { path: 'src/broker/y.ts', source: "if (e.code === 'ERR_QUEUE_FULL') retry();" }], table)).toEqual([
      'ERR_QUEUE_FULL (used in src/broker/y.ts) starts with no layer\'s prefix',
    ]);
    expect(prefixProblems([...fine, { path: 'src/cli/y.ts', source: "if (e.code === 'ERR_LOG_GONE') retry();" }], table)).toEqual([
      'ERR_LOG_GONE (used in src/cli/y.ts) has the prefix ERR_LOG_ but no file of that layer names it',
    ]);
    expect(prefixProblems([{ path: 'tools/x.ts', source: '' }], table)).toEqual(['tools/x.ts is in no layer of the prefix table in docs/errors.md']);
  });

  it('does not take a code compared with, or named in a comment or a message, for a declaration', () => {
    const source = "// throws ERR_X\nif (e.code === 'ERR_A' || e.code !== 'ERR_B') throw new RunError(`failed with ${'ERR_C'}`, { cause: f('ERR_D') });\nconst code = err.code ?? 'ERR_E';";
    expect([...declaredCodes(source)]).toEqual([]);
  });
});
