// The ROCKETMQ binary header type (serialize type 1): fixed fields, then remark and extFields
// with explicit lengths. Decoding checks every length against the header's end, because the
// bytes come from the network and a lie must become a typed error, not an out-of-range read.
import { assert } from '../common/assert.js';
import { MalformedFrameError } from './protocol-errors.js';
import type { ExtFields, RemotingCommand } from './remoting-command.js';
import { languageFromByte, languageToByte } from './language-code.js';

/** code int16, language byte, version int16, opaque int32, flag int32, remark length int32, ext length int32 */
const FIXED_BYTES = 2 + 1 + 2 + 4 + 4 + 4 + 4;

// Header strings are short and almost always ASCII; moving their bytes in JS avoids a native
// call per string (measured: about half the cost of encoding and decoding a send header).
const SHORT_STRING_MAX = 64;

function utf8Length(s: string): number {
  if (s.length <= SHORT_STRING_MAX) {
    let ascii = true;
    for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
    if (ascii) return s.length;
  }
  return Buffer.byteLength(s);
}

/** Writes s at pos; byteLength is utf8Length(s). */
function writeString(out: Buffer, s: string, pos: number, byteLength: number): void {
  if (byteLength === s.length && byteLength <= SHORT_STRING_MAX) {
    for (let i = 0; i < byteLength; i++) out[pos + i] = s.charCodeAt(i);
  } else {
    out.write(s, pos, byteLength, 'utf8');
  }
}

interface SliceDecoder {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** A short ASCII string with one native slice (no per-byte concatenation); UTF-8 otherwise. */
function readString(buf: Buffer, start: number, end: number): string {
  const b = buf as unknown as SliceDecoder;
  if (end - start <= SHORT_STRING_MAX) {
    for (let i = start; i < end; i++) if (buf[i]! >= 0x80) return b.utf8Slice(start, end);
    return b.latin1Slice(start, end);
  }
  return b.utf8Slice(start, end);
}

/**
 * extFields names seen on every request or response (SEND_MESSAGE_V2's one-letter names, the
 * send and pull answers' names), returned as the same string literals instead of new strings.
 */
const KNOWN_EXT_NAMES: readonly string[] = [
  'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n',
  'msgId', 'queueId', 'queueOffset', 'transactionId', 'nextBeginOffset', 'minOffset', 'maxOffset',
  'suggestWhichBrokerId', 'offset', 'MSG_REGION', 'TRACE_ON', 'batchUniqId', 'timestamp',
];
const KNOWN_EXT_NAME_BYTES: readonly Buffer[] = KNOWN_EXT_NAMES.map((n) => Buffer.from(n, 'latin1'));

function readName(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  for (let k = 0; k < KNOWN_EXT_NAME_BYTES.length; k++) {
    const name = KNOWN_EXT_NAME_BYTES[k]!;
    if (name.length !== len) continue;
    let same = true;
    for (let i = 0; i < len && same; i++) same = buf[start + i] === name[i];
    if (same) return KNOWN_EXT_NAMES[k]!;
  }
  return readString(buf, start, end);
}

/** Encodes the header (without the frame's length and header word). */
export function encodeBinaryHeader(cmd: RemotingCommand): Buffer {
  const remark = cmd.remark ?? '';
  const remarkBytes = utf8Length(remark);
  let extBytes = 0;
  const ext = cmd.extFields;
  for (const key in ext) {
    const value = ext[key];
    if (value === undefined) continue;
    extBytes += 2 + utf8Length(key) + 4 + utf8Length(value);
  }
  const out = Buffer.allocUnsafe(FIXED_BYTES + remarkBytes + extBytes);
  let pos = out.writeInt16BE(cmd.code, 0);
  pos = out.writeUInt8(languageToByte(cmd.language), pos);
  pos = out.writeInt16BE(cmd.version, pos);
  pos = out.writeInt32BE(cmd.opaque, pos);
  pos = out.writeInt32BE(cmd.flag, pos);
  pos = out.writeInt32BE(remarkBytes, pos);
  writeString(out, remark, pos, remarkBytes);
  pos += remarkBytes;
  pos = out.writeInt32BE(extBytes, pos);
  for (const key in ext) {
    const value = ext[key];
    if (value === undefined) continue;
    const keyBytes = utf8Length(key);
    out.writeInt16BE(keyBytes, pos);
    writeString(out, key, pos + 2, keyBytes);
    pos += 2 + keyBytes;
    const valueBytes = utf8Length(value);
    out.writeInt32BE(valueBytes, pos);
    writeString(out, value, pos + 4, valueBytes);
    pos += 4 + valueBytes;
  }
  assert(pos === out.length, 'binary header size computed and written must agree');
  return out;
}

/** Decodes buf[start, end) as a binary header; the body is filled in by the frame decoder. */
export function decodeBinaryHeader(buf: Buffer, start: number, end: number): RemotingCommand | MalformedFrameError {
  if (end - start < FIXED_BYTES) return new MalformedFrameError(`binary header of ${end - start} bytes is shorter than ${FIXED_BYTES}`);
  let pos = start;
  const code = buf.readInt16BE(pos);
  const language = languageFromByte(buf.readUInt8(pos + 2));
  const version = buf.readInt16BE(pos + 3);
  const opaque = buf.readInt32BE(pos + 5);
  const flag = buf.readInt32BE(pos + 9);
  const remarkBytes = buf.readInt32BE(pos + 13);
  pos += 17;
  // 4 more bytes (the ext length) must follow the remark.
  if (remarkBytes < 0 || remarkBytes > end - pos - 4) return new MalformedFrameError(`binary header remark length ${remarkBytes} runs past the header`);
  const remark = remarkBytes > 0 ? readString(buf, pos, pos + remarkBytes) : undefined;
  pos += remarkBytes;
  const extBytes = buf.readInt32BE(pos);
  pos += 4;
  if (extBytes < 0 || extBytes !== end - pos) return new MalformedFrameError(`binary header extFields length ${extBytes} does not match the ${end - pos} bytes left`);
  const extFields: ExtFields = {};
  // Each entry consumes at least 6 bytes, so this loop ends within extBytes / 6 rounds.
  while (pos < end) {
    if (end - pos < 6) return new MalformedFrameError('binary header extFields entry is truncated');
    const keyBytes = buf.readInt16BE(pos);
    pos += 2;
    if (keyBytes < 0 || keyBytes > end - pos - 4) return new MalformedFrameError(`binary header key length ${keyBytes} runs past the header`);
    const key = readName(buf, pos, pos + keyBytes);
    pos += keyBytes;
    const valueBytes = buf.readInt32BE(pos);
    pos += 4;
    if (valueBytes < 0 || valueBytes > end - pos) return new MalformedFrameError(`binary header value length ${valueBytes} runs past the header`);
    extFields[key] = readString(buf, pos, pos + valueBytes);
    pos += valueBytes;
  }
  return { code, language, version, opaque, flag, remark, extFields };
}
