// Decides whether a request may run under the ACL rules, before any processor sees it: global
// white-listed addresses pass; otherwise the request names an account (AccessKey) that must
// exist; an account's own white-listed address passes without a signature; otherwise the
// signature must match the account's secret, an admin request needs an admin account, and every
// topic and group the request touches needs the permission (per-resource, else the account's
// default). A refusal carries a remark that says what is missing, never the secret.
import { ACL_ACCESS_KEY, ACL_SIGNATURE, verifyAclSignature } from '../../protocol/acl-signature.js';
import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { aclRequirement } from './acl-resources.js';
import { ipOf } from './address-pattern.js';
import { Perm, permText, type AclAccount, type AclConfig } from './plain-acl.js';

export type AclVerdict = { ok: true; accessKey?: string } | { ok: false; remark: string };

/** Refusals by reason, for logs and (where metrics exist) a counter. */
export interface AclCounters {
  allowed: number;
  refused: Record<'no-access-key' | 'unknown-access-key' | 'bad-signature' | 'not-admin' | 'no-permission', number>;
}

function permitted(needed: number, owned: number): boolean {
  if ((owned & Perm.DENY) !== 0) return false;
  const effective = (owned & Perm.ANY) !== 0 ? owned | Perm.PUB | Perm.SUB : owned;
  return (needed & effective) === needed;
}

export class AclChecker {
  readonly counters: AclCounters = { allowed: 0, refused: { 'no-access-key': 0, 'unknown-access-key': 0, 'bad-signature': 0, 'not-admin': 0, 'no-permission': 0 } };

  /** The rules as plain_acl.yml gave them at start-up (AclRules layers run-time changes on top). */
  readonly fileConfig: AclConfig;

  constructor(private config: AclConfig) {
    this.fileConfig = config;
  }

  /** Replaces the rules (a reloaded or replicated file) at once. */
  update(config: AclConfig): void {
    this.config = config;
  }

  check(req: RemotingCommand, remoteAddress: string): AclVerdict {
    const ip = ipOf(remoteAddress);
    if (this.config.globalWhiteRemoteAddresses.some((p) => p.matches(ip))) return this.allow();
    const accessKey = req.extFields[ACL_ACCESS_KEY];
    if (accessKey === undefined || accessKey === '') {
      return this.refuse('no-access-key', `request ${req.code} carries no AccessKey: ACL is enabled on this broker; give the client an access key and secret key`);
    }
    const account = this.config.accounts.get(String(accessKey));
    if (account === undefined) return this.refuse('unknown-access-key', `AccessKey ${String(accessKey)} is not an account of this broker's ACL`);
    if (account.whiteRemoteAddress?.matches(ip) === true) return this.allow(account.accessKey);
    const signature = req.extFields[ACL_SIGNATURE];
    if (signature === undefined || !verifyAclSignature(req, String(signature), account.secretKey)) {
      return this.refuse('bad-signature', `the signature of request ${req.code} does not match AccessKey ${account.accessKey} (wrong secret key, or the request was altered)`);
    }
    const need = aclRequirement(req);
    if (need.admin && !account.admin) return this.refuse('not-admin', `request ${req.code} is administration: AccessKey ${account.accessKey} is not an admin account`);
    for (const n of need.needs) {
      const owned = this.owned(account, n.kind, n.name);
      if (!permitted(n.perm, owned)) {
        return this.refuse('no-permission', `AccessKey ${account.accessKey} has no ${permText(n.perm)} permission on ${n.kind} ${n.name} (it has ${permText(owned)})`);
      }
    }
    return this.allow(account.accessKey);
  }

  private owned(account: AclAccount, kind: 'topic' | 'group', name: string): number {
    return kind === 'topic' ? (account.topicPerms.get(name) ?? account.defaultTopicPerm) : (account.groupPerms.get(name) ?? account.defaultGroupPerm);
  }

  private allow(accessKey?: string): AclVerdict {
    this.counters.allowed++;
    return accessKey === undefined ? { ok: true } : { ok: true, accessKey };
  }

  private refuse(reason: keyof AclCounters['refused'], remark: string): AclVerdict {
    this.counters.refused[reason]++;
    return { ok: false, remark };
  }
}
