// The rules a node enforces: plain_acl.yml, overridden account by account by the changes made at
// run time (UPDATE_AND_CREATE_ACL_CONFIG, DELETE_ACL_CONFIG), which travel through the Raft log as
// control entries and live in the replicated metadata tables. Every replica applies the same
// entries in the same order, so after a failover the new leader enforces exactly what the old one
// did. The checker is rebuilt whenever such an entry (or a metadata snapshot) is applied.
import { createHash } from 'node:crypto';
import type { Logger } from '../../common/logger.js';
import type { MetadataState } from '../metadata-state.js';
import type { AclChecker } from './acl-checker.js';
import { AclConfigError, parseAclAccount, publicAccountDoc, type AclAccount, type AclConfig } from './plain-acl.js';

export class AclRules {
  private effective: AclConfig;
  private digest = '';

  constructor(
    private readonly file: AclConfig,
    private readonly metadata: MetadataState,
    private readonly checker: AclChecker,
    private readonly log: Logger,
  ) {
    this.effective = this.rebuild();
    metadata.onApplied((index, command) => {
      if (command.kind !== 'acl-account-upsert' && command.kind !== 'acl-account-delete' && command.kind !== 'metadata-snapshot') return;
      this.rebuild();
      this.log.info({ index, kind: command.kind, accessKey: 'accessKey' in command ? command.accessKey : 'account' in command ? command.account.accessKey : undefined }, 'ACL rules changed');
    });
  }

  /** The rules in force now. */
  config(): AclConfig {
    return this.effective;
  }

  /**
   * A hash of the rules in force (secrets included, as hashes): equal on two nodes exactly when
   * they enforce the same rules. GET_BROKER_CLUSTER_ACL_INFO answers it as `version`.
   */
  get fingerprint(): string {
    return this.digest;
  }

  /** Whether the account came from a run-time change rather than plain_acl.yml. */
  isReplicated(accessKey: string): boolean {
    return this.metadata.aclOverrides().has(accessKey);
  }

  private rebuild(): AclConfig {
    this.effective = this.build();
    this.checker.update(this.effective);
    const h = createHash('sha256');
    h.update(JSON.stringify(this.effective.globalWhiteRemoteAddresses.map((p) => p.text)));
    for (const a of [...this.effective.accounts.values()].sort((x, y) => (x.accessKey < y.accessKey ? -1 : 1))) {
      h.update(JSON.stringify(publicAccountDoc(a)));
      h.update(createHash('sha256').update(a.secretKey).digest());
    }
    this.digest = h.digest('hex').slice(0, 16);
    return this.effective;
  }

  private build(): AclConfig {
    const accounts = new Map<string, AclAccount>(this.file.accounts);
    for (const [accessKey, doc] of this.metadata.aclOverrides()) {
      if (doc === null) {
        accounts.delete(accessKey);
        continue;
      }
      try {
        accounts.set(accessKey, parseAclAccount(doc, `replicated ACL account ${accessKey}`));
      } catch (err) {
        // Checked before it was proposed; a doc that still fails fails alike on every replica.
        if (!(err instanceof AclConfigError)) throw err;
        this.log.error({ accessKey, err: err.message }, 'replicated ACL account is invalid; ignored');
      }
    }
    return { globalWhiteRemoteAddresses: this.file.globalWhiteRemoteAddresses, accounts };
  }
}
