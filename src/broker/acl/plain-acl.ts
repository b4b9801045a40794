// The ACL rules in RocketMQ's `plain_acl.yml` format (ACL 1.0), so an operator's existing file
// works as it is: global white-listed addresses, and accounts with an access key, a secret key,
// an optional white-listed address, an admin flag, default permissions for topics and groups,
// and per-topic / per-group permissions ("name=PUB|SUB"). Parsed with the `yaml` library and
// checked field by field: a bad file is refused with a message naming the field, never half
// applied.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { AclConfigError } from './acl-errors.js';
import { AddressPattern } from './address-pattern.js';

export { AclConfigError };

/** RocketMQ's permission bits (Permission.java): DENY, ANY, PUB, SUB. */
export const Perm = {
  DENY: 1,
  ANY: 2,
  PUB: 4,
  SUB: 8,
} as const;

export interface AclAccount {
  accessKey: string;
  secretKey: string;
  /** A request from a matching address needs no signature for this account's key. */
  whiteRemoteAddress: AddressPattern | undefined;
  admin: boolean;
  defaultTopicPerm: number;
  defaultGroupPerm: number;
  topicPerms: Map<string, number>;
  groupPerms: Map<string, number>;
}

export interface AclConfig {
  /** Requests from these addresses pass without a signature or any check. */
  globalWhiteRemoteAddresses: AddressPattern[];
  accounts: Map<string, AclAccount>;
}

/** Bounds of a rules file: accounts and permission entries per account. */
export const MAX_ACL_ACCOUNTS = 10_000;
export const MAX_ACL_PERMS_PER_ACCOUNT = 100_000;
const MAX_KEY_CHARS = 256;

/** "PUB|SUB", "SUB", "DENY", "ANY" → bits; anything else throws naming `where`. */
export function parsePerm(text: string, where: string): number {
  let bits = 0;
  for (const part of text.split('|').map((p) => p.trim())) {
    const bit = Perm[part as keyof typeof Perm];
    if (bit === undefined) throw new AclConfigError(`${where}: permission '${text}' is not DENY, ANY, PUB, SUB or PUB|SUB`);
    bits |= bit;
  }
  if ((bits & Perm.DENY) !== 0 && bits !== Perm.DENY) throw new AclConfigError(`${where}: DENY cannot be combined with other permissions ('${text}')`);
  return bits;
}

/** The permission bits as RocketMQ spells them. */
export function permText(bits: number): string {
  if (bits === Perm.DENY) return 'DENY';
  if (bits === Perm.ANY) return 'ANY';
  return [bits & Perm.PUB ? 'PUB' : '', bits & Perm.SUB ? 'SUB' : ''].filter((s) => s !== '').join('|') || 'DENY';
}

function str(v: unknown, where: string, required: boolean): string | undefined {
  if (v === undefined || v === null || v === '') {
    if (required) throw new AclConfigError(`${where} is required`);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number') throw new AclConfigError(`${where} must be a string`);
  const s = String(v);
  if (s.length > MAX_KEY_CHARS) throw new AclConfigError(`${where} is longer than ${MAX_KEY_CHARS} characters`);
  return s;
}

function permList(v: unknown, where: string): Map<string, number> {
  const out = new Map<string, number>();
  if (v === undefined || v === null) return out;
  if (!Array.isArray(v)) throw new AclConfigError(`${where} must be a list of "name=PERM"`);
  if (v.length > MAX_ACL_PERMS_PER_ACCOUNT) throw new AclConfigError(`${where} has ${v.length} entries; at most ${MAX_ACL_PERMS_PER_ACCOUNT}`);
  for (const [i, entry] of v.entries()) {
    const text = str(entry, `${where}[${i}]`, true)!;
    const eq = text.lastIndexOf('=');
    if (eq <= 0) throw new AclConfigError(`${where}[${i}] '${text}' must be "name=PERM"`);
    out.set(text.slice(0, eq).trim(), parsePerm(text.slice(eq + 1).trim(), `${where}[${i}]`));
  }
  return out;
}

/**
 * One account as plain_acl.yml writes it (strings for permissions): the shape replicated through
 * the Raft log by UPDATE_AND_CREATE_ACL_CONFIG, so every replica parses the same text alike.
 */
export interface AclAccountDoc {
  accessKey: string;
  secretKey: string;
  whiteRemoteAddress?: string;
  admin?: boolean;
  defaultTopicPerm?: string;
  defaultGroupPerm?: string;
  topicPerms?: string[];
  groupPerms?: string[];
}

/** Parses and checks one account mapping (of a file, or replicated); `where` names it in errors. */
export function parseAclAccount(raw: unknown, where: string): AclAccount {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new AclConfigError(`${where} must be a mapping`);
  const a = raw as Record<string, unknown>;
  const accessKey = str(a['accessKey'], `${where}.accessKey`, true)!;
  const white = str(a['whiteRemoteAddress'], `${where}.whiteRemoteAddress`, false);
  const admin = a['admin'];
  if (admin !== undefined && admin !== null && typeof admin !== 'boolean') throw new AclConfigError(`${where}.admin must be true or false`);
  return {
    accessKey,
    secretKey: str(a['secretKey'], `${where}.secretKey`, true)!,
    whiteRemoteAddress: white === undefined ? undefined : AddressPattern.parse(white, `${where}.whiteRemoteAddress`),
    admin: admin === true,
    defaultTopicPerm: parsePerm(str(a['defaultTopicPerm'], `${where}.defaultTopicPerm`, false) ?? 'DENY', `${where}.defaultTopicPerm`),
    defaultGroupPerm: parsePerm(str(a['defaultGroupPerm'], `${where}.defaultGroupPerm`, false) ?? 'DENY', `${where}.defaultGroupPerm`),
    topicPerms: permList(a['topicPerms'], `${where}.topicPerms`),
    groupPerms: permList(a['groupPerms'], `${where}.groupPerms`),
  };
}

/** An account as a document again, without its secret (what GET_BROKER_CLUSTER_ACL_INFO shows). */
export function publicAccountDoc(a: AclAccount): Omit<AclAccountDoc, 'secretKey'> {
  return {
    accessKey: a.accessKey,
    ...(a.whiteRemoteAddress !== undefined ? { whiteRemoteAddress: a.whiteRemoteAddress.text } : {}),
    admin: a.admin,
    defaultTopicPerm: permText(a.defaultTopicPerm),
    defaultGroupPerm: permText(a.defaultGroupPerm),
    topicPerms: [...a.topicPerms].map(([k, v]) => `${k}=${permText(v)}`),
    groupPerms: [...a.groupPerms].map(([k, v]) => `${k}=${permText(v)}`),
  };
}

/** Parses and checks a plain_acl.yml text. */
export function parsePlainAcl(text: string): AclConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new AclConfigError(`plain_acl.yml is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new AclConfigError('plain_acl.yml must be a mapping with globalWhiteRemoteAddresses and accounts');
  const d = doc as Record<string, unknown>;
  const white = d['globalWhiteRemoteAddresses'] ?? [];
  if (!Array.isArray(white)) throw new AclConfigError('globalWhiteRemoteAddresses must be a list of address patterns');
  const globalWhiteRemoteAddresses = white.map((w, i) => AddressPattern.parse(str(w, `globalWhiteRemoteAddresses[${i}]`, true)!, `globalWhiteRemoteAddresses[${i}]`));
  const list = d['accounts'] ?? [];
  if (!Array.isArray(list)) throw new AclConfigError('accounts must be a list');
  if (list.length > MAX_ACL_ACCOUNTS) throw new AclConfigError(`accounts has ${list.length} entries; at most ${MAX_ACL_ACCOUNTS}`);
  const accounts = new Map<string, AclAccount>();
  for (const [i, raw] of list.entries()) {
    const account = parseAclAccount(raw, `accounts[${i}]`);
    if (accounts.has(account.accessKey)) throw new AclConfigError(`accounts[${i}].accessKey ${account.accessKey} appears twice`);
    accounts.set(account.accessKey, account);
  }
  return { globalWhiteRemoteAddresses, accounts };
}

/** Reads and parses the rules file; a missing or bad file throws AclConfigError naming it. */
export function loadPlainAcl(path: string): AclConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AclConfigError(`aclEnable=true but the ACL file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set aclFile in broker.conf or put plain_acl.yml beside it`);
  }
  try {
    return parsePlainAcl(text);
  } catch (err) {
    if (err instanceof AclConfigError) throw new AclConfigError(`${path}: ${err.message}`);
    throw err;
  }
}
