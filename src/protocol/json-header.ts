// The JSON header type (serialize type 0), the one ali-ons and Apache's default speak. Decoding
// accepts what real clients send: extFields values as raw JSON numbers and booleans (ali-ons),
// null fields, and extra keys such as serializeTypeCurrentRPC; it normalizes extFields to strings.
import { MalformedFrameError } from './protocol-errors.js';
import type { ExtFields, RemotingCommand } from './remoting-command.js';

/** Encodes the header as UTF-8 JSON: exactly one JSON.stringify per frame. */
export function encodeJsonHeader(cmd: RemotingCommand): string {
  return JSON.stringify({
    code: cmd.code,
    language: cmd.language,
    version: cmd.version,
    opaque: cmd.opaque,
    flag: cmd.flag,
    remark: cmd.remark,
    extFields: cmd.extFields,
    serializeTypeCurrentRPC: 'JSON',
  });
}

function intField(obj: Record<string, unknown>, name: string, fallback: number): number | MalformedFrameError {
  const v = obj[name];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d{1,10}$/.test(v)) return Number(v);
  return new MalformedFrameError(`JSON header field '${name}' is not an integer`);
}

/** Turns every extFields value into a string in place; null values are dropped. */
function normalizeExtFields(raw: unknown): ExtFields | MalformedFrameError {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) return new MalformedFrameError('JSON header extFields is not an object');
  const ext = raw as Record<string, unknown>;
  for (const key of Object.keys(ext)) {
    const v = ext[key];
    if (typeof v === 'string') continue;
    if (v === null || v === undefined) delete ext[key];
    else if (typeof v === 'number' || typeof v === 'boolean') ext[key] = String(v);
    else {
      // Nested values are not part of the protocol; keep them as text. A pathological nesting
      // depth can overflow JSON.stringify's stack, which must become a frame error, not a throw.
      try {
        ext[key] = JSON.stringify(v);
      } catch (err) {
        return new MalformedFrameError(`JSON header extFields value '${key.slice(0, 64)}' cannot be read`, { cause: err });
      }
    }
  }
  return ext as ExtFields;
}

/** Decodes buf[start, end) as a JSON header; the body is filled in by the frame decoder. */
export function decodeJsonHeader(buf: Buffer, start: number, end: number): RemotingCommand | MalformedFrameError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.toString('utf8', start, end));
  } catch (err) {
    return new MalformedFrameError('JSON header does not parse', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return new MalformedFrameError('JSON header is not an object');
  const obj = parsed as Record<string, unknown>;
  const code = intField(obj, 'code', Number.NaN);
  if (code instanceof MalformedFrameError) return code;
  if (Number.isNaN(code)) return new MalformedFrameError("JSON header has no 'code'");
  const version = intField(obj, 'version', 0);
  if (version instanceof MalformedFrameError) return version;
  const opaque = intField(obj, 'opaque', 0);
  if (opaque instanceof MalformedFrameError) return opaque;
  const flag = intField(obj, 'flag', 0);
  if (flag instanceof MalformedFrameError) return flag;
  const extFields = normalizeExtFields(obj['extFields']);
  if (extFields instanceof MalformedFrameError) return extFields;
  const language = typeof obj['language'] === 'string' ? obj['language'] : 'OTHER';
  const rawRemark = obj['remark'];
  const remark = typeof rawRemark === 'string' ? rawRemark : undefined;
  return { code, language, version, opaque, flag, remark, extFields };
}
