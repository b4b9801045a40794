// Decides whether a request may run under the ACL rules, before any processor sees it: global
// white-listed addresses pass; otherwise the request names an account (AccessKey) that must
// exist; an account's own white-listed address passes without a signature; otherwise the
// signature must match the account's secret, an admin request needs an admin account, and every
// topic and group the request touches needs the permission (per-resource, else the account's
// default). A refusal carries a remark that says what is missing, never the secret.
import { ACL_ACCESS_KEY, ACL_SIGNATURE, verifyAclSignature } from '../../protocol/acl-signature.js';
import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { aclRequirement, type AclRequirement } from './acl-resources.js';
import { ipOf } from './address-pattern.js';
import { Perm, permText, type AclAccount, type AclConfig } from './plain-acl.js';

export type AclRefusalReason = 'no-access-key' | 'unknown-access-key' | 'bad-signature' | 'not-admin' | 'no-permission';

export type AclVerdict = { ok: true; accessKey?: string } | { ok: false; remark: string; reason: AclRefusalReason };

/**
 * A request as the checker judges it, whatever its protocol: who it names, a test of its
 * signature against a secret key, and what it needs. `what` names the request in remarks.
 */
export interface AclSubject {
  remoteAddress: string;
  accessKey: string | undefined;
  /** Whether the request's signature is the one `secretKey` makes (false when it carries none). */
  signedWith(secretKey: string): boolean;
  requirement: AclRequirement;
  what: string;
}

/** Refusals by reason, for logs and (where metrics exist) a counter. */
export interface AclCounters {
  allowed: number;
  refused: Record<AclRefusalReason, number>;
}

function permitted(needed: number, owned: number): boolean {
  if ((owned & Perm.DENY) !== 0) return false;
  const effective = (owned & Perm.ANY) !== 0 ? owned | Perm.PUB | Perm.SUB : owned;
  // Needing ANY (a v5 route query) means either PUB or SUB will do.
  if (needed === Perm.ANY) return (effective & (Perm.PUB | Perm.SUB)) !== 0;
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
    const accessKey = req.extFields[ACL_ACCESS_KEY];
    const signature = req.extFields[ACL_SIGNATURE];
    return this.judge({
      remoteAddress,
      accessKey: accessKey === undefined || accessKey === '' ? undefined : String(accessKey),
      signedWith: (secretKey) => signature !== undefined && verifyAclSignature(req, String(signature), secretKey),
      get requirement() {
        return aclRequirement(req);
      },
      what: `request ${req.code}`,
    });
  }

  /** The same judgement for any protocol (the gRPC endpoint's v5 signatures use it too). */
  judge(s: AclSubject): AclVerdict {
    const ip = ipOf(s.remoteAddress);
    if (this.config.globalWhiteRemoteAddresses.some((p) => p.matches(ip))) return this.allow();
    const accessKey = s.accessKey;
    if (accessKey === undefined || accessKey === '') {
      return this.refuse('no-access-key', `${s.what} carries no AccessKey: ACL is enabled on this broker; give the client an access key and secret key`);
    }
    const account = this.config.accounts.get(accessKey);
    if (account === undefined) return this.refuse('unknown-access-key', `AccessKey ${accessKey} is not an account of this broker's ACL`);
    if (account.whiteRemoteAddress?.matches(ip) === true) return this.allow(account.accessKey);
    if (!s.signedWith(account.secretKey)) {
      return this.refuse('bad-signature', `the signature of ${s.what} does not match AccessKey ${account.accessKey} (wrong secret key, or the request was altered)`);
    }
    const need = s.requirement;
    if (need.admin && !account.admin) return this.refuse('not-admin', `${s.what} is administration: AccessKey ${account.accessKey} is not an admin account`);
    for (const n of need.needs) {
      const owned = this.owned(account, n.kind, n.name);
      if (!permitted(n.perm, owned)) {
        return this.refuse('no-permission', `AccessKey ${account.accessKey} has no ${n.perm === Perm.ANY ? 'PUB or SUB' : permText(n.perm)} permission on ${n.kind} ${n.name} (it has ${permText(owned)})`);
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

  private refuse(reason: AclRefusalReason, remark: string): AclVerdict {
    this.counters.refused[reason]++;
    return { ok: false, remark, reason };
  }
}
