// Java's String.hashCode, which RocketMQ stores in the ConsumeQueue as the tag hash and in the
// IndexFile as the key hash. Clients compute the same value for their subscriptions (codeSet),
// so it must match Java exactly: 32-bit wrap-around over UTF-16 code units.

/** Java `s.hashCode()`, continuing from `seed` (the hash of a prefix) so `topic#key` needs no concatenation. */
export function javaStringHash(s: string, seed = 0): number {
  let h = seed | 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * Java hashCode of the string whose UTF-8 bytes are `buf[start, end)`. ASCII (every real tag and
 * key we have seen) is hashed straight from the bytes; anything else is decoded first because Java
 * hashes UTF-16 code units, not bytes.
 */
export function javaUtf8Hash(buf: Uint8Array, start: number, end: number, seed = 0): number {
  let h = seed | 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return javaStringHash(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'), seed);
    h = (Math.imul(h, 31) + c) | 0;
  }
  return h;
}

/** RocketMQ's IndexFile key hash: |hashCode|, with Integer.MIN_VALUE mapped to 0. */
export function indexKeyHash(hashCode: number): number {
  return hashCode === -2147483648 ? 0 : Math.abs(hashCode);
}
