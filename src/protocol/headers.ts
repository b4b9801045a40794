// Typed access to extFields. Values may have arrived as unquoted JSON numbers or booleans
// (ali-ons) and were normalized to strings by the decoder; accessors also accept raw scalars so a
// header built in-process reads the same. A missing or malformed field is a HeaderFieldError that
// names the field, which servers answer with SYSTEM_ERROR and that remark.
import { HeaderFieldError } from './protocol-errors.js';

type HeaderSource = Readonly<Record<string, string | number | boolean | undefined>>;

const INTEGER_PATTERN = /^\s*[-+]?\d+\s*$/;

function present(ext: HeaderSource, name: string): string | number | boolean | undefined {
  const v = ext[name];
  return v === undefined || v === '' ? undefined : v;
}

/** Plain decimal digits with an optional '-', as every client writes them; NaN otherwise. */
function fastDecimal(s: string): number {
  const len = s.length;
  if (len === 0 || len > 16) return Number.NaN;
  let i = s.charCodeAt(0) === 45 ? 1 : 0;
  if (i === len) return Number.NaN;
  let n = 0;
  for (; i < len; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    n = n * 10 + d;
  }
  return s.charCodeAt(0) === 45 ? -n : n;
}

function parseInteger(name: string, v: string | number | boolean): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    n = fastDecimal(v);
    if (Number.isNaN(n) && INTEGER_PATTERN.test(v)) n = Number(v);
  } else n = Number.NaN;
  if (!Number.isSafeInteger(n)) throw new HeaderFieldError(name, `header field '${name}' must be an integer, got '${String(v).slice(0, 64)}'`);
  return n;
}

/** A required string field. */
export function headerString(ext: HeaderSource, name: string): string {
  const v = present(ext, name);
  if (v === undefined) throw new HeaderFieldError(name, `header field '${name}' is missing`);
  return String(v);
}

export function headerOptString(ext: HeaderSource, name: string): string | undefined {
  const v = present(ext, name);
  return v === undefined ? undefined : String(v);
}

/** A required integer field (int32 and int64 alike, as long as it is a safe JS integer). */
export function headerInt(ext: HeaderSource, name: string): number {
  const v = present(ext, name);
  if (v === undefined) throw new HeaderFieldError(name, `header field '${name}' is missing`);
  return parseInteger(name, v);
}

export function headerOptInt(ext: HeaderSource, name: string, fallback: number): number {
  const v = present(ext, name);
  return v === undefined ? fallback : parseInteger(name, v);
}

/** A boolean field: true/false in any case; absent gives the fallback. */
export function headerBool(ext: HeaderSource, name: string, fallback: boolean): boolean {
  const v = present(ext, name);
  if (v === undefined) return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw new HeaderFieldError(name, `header field '${name}' must be true or false, got '${String(v).slice(0, 64)}'`);
}
