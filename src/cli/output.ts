// Output helpers shared by every command: aligned text tables for people and one JSON document
// for scripts (`--json`). A command prints exactly one of the two, so stdout stays parseable.

export type Cell = string | number | boolean | null | undefined;

function text(c: Cell): string {
  if (c === null || c === undefined) return '-';
  return String(c);
}

/** Renders rows under upper-case headers, columns padded to their widest cell. */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((r) => headers.map((_, i) => text(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

export function printTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): void {
  process.stdout.write(formatTable(headers, rows));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** A message body for display: UTF-8 when it decodes cleanly, else base64. */
export function bodyForDisplay(body: Buffer): { body: string; bodyEncoding: 'utf8' | 'base64' } {
  const s = body.toString('utf8');
  if (Buffer.byteLength(s, 'utf8') === body.length && !s.includes('\uFFFD')) return { body: s, bodyEncoding: 'utf8' };
  return { body: body.toString('base64'), bodyEncoding: 'base64' };
}

/** Shortens text for a table cell. */
export function clip(s: string, maxChars: number): string {
  const oneLine = s.replace(/[\r\n\t]+/g, ' ');
  return oneLine.length <= maxChars ? oneLine : `${oneLine.slice(0, maxChars - 1)}…`;
}
