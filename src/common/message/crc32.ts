// CRC-32 (IEEE, as java.util.zip.CRC32). Node >= 20.15 has zlib.crc32 in native code; older
// 20.x releases get a table-driven fallback so the store still opens.

import zlib from 'node:zlib';

let table: Int32Array | undefined;

function tableCrc32(data: Uint8Array): number {
  if (!table) {
    table = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c;
    }
  }
  let crc = -1;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}

const native = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;

/** Unsigned CRC-32 of `data`. */
export const crc32: (data: Uint8Array) => number = native ? (d) => native(d) : tableCrc32;
