// Keeps docs/errors.md complete: every `'ERR_...'` string literal in raft/, src/ and jepsen-like/
// must have exactly one table row there, and every row must name a code some source still uses.
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

function usedCodes(): Map<string, string> {
  const used = new Map<string, string>();
  for (const dir of SOURCE_DIRS) {
    for (const file of tsFiles(join(root, dir), [])) {
      for (const code of codesInSource(readFileSync(file, 'utf8'))) {
        if (!used.has(code)) used.set(code, relative(root, file));
      }
    }
  }
  return used;
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

  it('ignores codes named in comments without quotes', () => {
    expect([...codesInSource('// fails with ERR_RAFT_BUSY when full\nconst c = `ERR_TEMPLATE`;')]).toEqual([]);
  });
});
