// White-listed remote addresses in RocketMQ's ACL notation: `*` (any address), an exact IPv4
// address, or four dot-separated parts where each part is a number, `*`, a range `a-b`, or a set
// `{a,b,c}` (only the last part may be a set or a range in RocketMQ's own notation; we accept them
// in any part). IPv6 addresses match only exactly or by `*`.
import { AclConfigError } from './acl-errors.js';

type Part = { kind: 'any' } | { kind: 'range'; lo: number; hi: number } | { kind: 'set'; values: Set<number> };

function octet(text: string, where: string, pattern: string): number {
  if (!/^\d{1,3}$/.test(text)) throw new AclConfigError(`${where}: '${pattern}' is not an address pattern (part '${text}')`);
  const n = Number(text);
  if (n > 255) throw new AclConfigError(`${where}: '${pattern}' has a part above 255`);
  return n;
}

export class AddressPattern {
  private constructor(
    readonly text: string,
    private readonly parts: Part[] | undefined,
    private readonly exact: string | undefined,
  ) {}

  static parse(text: string, where: string): AddressPattern {
    const t = text.trim();
    if (t === '*') return new AddressPattern(t, [{ kind: 'any' }, { kind: 'any' }, { kind: 'any' }, { kind: 'any' }], undefined);
    if (t.includes(':')) return new AddressPattern(t, undefined, t.toLowerCase());
    const fields = t.split('.');
    if (fields.length !== 4) throw new AclConfigError(`${where}: '${text}' is not an address pattern (expected four parts like 192.168.0.*)`);
    const parts = fields.map((f): Part => {
      if (f === '*') return { kind: 'any' };
      const range = /^(\d{1,3})-(\d{1,3})$/.exec(f);
      if (range !== null) {
        const lo = octet(range[1]!, where, text);
        const hi = octet(range[2]!, where, text);
        if (lo > hi) throw new AclConfigError(`${where}: '${text}' has a range that runs backwards`);
        return { kind: 'range', lo, hi };
      }
      const set = /^\{([\d,]+)\}$/.exec(f);
      if (set !== null) return { kind: 'set', values: new Set(set[1]!.split(',').map((v) => octet(v, where, text))) };
      const n = octet(f, where, text);
      return { kind: 'range', lo: n, hi: n };
    });
    return new AddressPattern(t, parts, undefined);
  }

  /** Whether `ip` (no port) matches. */
  matches(ip: string): boolean {
    if (this.exact !== undefined) return ip.toLowerCase() === this.exact;
    const parts = this.parts!;
    if (parts.every((p) => p.kind === 'any')) return true;
    const fields = ip.split('.');
    if (fields.length !== 4) return false;
    for (let i = 0; i < 4; i++) {
      const p = parts[i]!;
      if (p.kind === 'any') continue;
      const f = fields[i]!;
      if (!/^\d{1,3}$/.test(f)) return false;
      const n = Number(f);
      if (p.kind === 'range' ? n < p.lo || n > p.hi : !p.values.has(n)) return false;
    }
    return true;
  }
}

/** The IP of an "ip:port" remote address (IPv6 in brackets or bare). */
export function ipOf(remoteAddress: string): string {
  if (remoteAddress.startsWith('[')) return remoteAddress.slice(1, remoteAddress.indexOf(']'));
  const i = remoteAddress.lastIndexOf(':');
  return i > 0 && remoteAddress.indexOf(':') === i ? remoteAddress.slice(0, i) : remoteAddress;
}
