// `rmq admin updateAclConfig | deleteAclConfig | getAclConfig`: mqadmin's ACL commands. A change
// goes to every group's leader, which replicates it to its group through the Raft log; it needs
// an admin account (--access-key/--secret-key or RMQ_ACCESS_KEY/RMQ_SECRET_KEY).
import type { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { action } from '../run-action.js';
import type { Admin } from '../../client/index.js';
import type { Common } from './admin.js';

/** admin.ts's helpers, passed in so the two files do not import each other. */
export interface AdminHelpers {
  sub: (admin: Command, name: string, description: string) => Command;
  withAdmin: <T>(o: Common, fn: (admin: Admin) => Promise<T>) => Promise<T>;
}

const list = (v: string | undefined): string[] | undefined => (v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s !== ''));

interface UpdateOptions extends Common {
  account: string;
  accountSecret: string;
  whiteRemoteAddress?: string;
  admin?: boolean;
  defaultTopicPerm?: string;
  defaultGroupPerm?: string;
  topicPerms?: string;
  groupPerms?: string;
  clusterName?: string;
}

export function registerAclAdminCommands(admin: Command, { sub, withAdmin }: AdminHelpers): void {
  sub(admin, 'updateAclConfig', 'create or replace an ACL account on every group (replicated through Raft; admin only)')
    .requiredOption('-a, --account <accessKey>', "the account's access key")
    .requiredOption('-s, --account-secret <secretKey>', "the account's secret key")
    .option('-w, --white-remote-address <pattern>', 'requests with this key from here need no signature')
    .option('--admin', 'an admin account (may create topics, manage ACL, transfer leadership...)')
    .option('-t, --default-topic-perm <perm>', 'DENY, PUB, SUB or PUB|SUB for topics not listed (default DENY)')
    .option('-g, --default-group-perm <perm>', 'for groups not listed (default DENY)')
    .option('--topic-perms <list>', 'comma-separated Topic=PERM items, e.g. Orders=PUB|SUB,Audit=PUB')
    .option('--group-perms <list>', 'comma-separated Group=PERM items')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .action(
      action<UpdateOptions>(async (o) => {
        const topicPerms = list(o.topicPerms);
        const groupPerms = list(o.groupPerms);
        const addrs = await withAdmin(o, (a) => a.updateAclConfig({
          accessKey: o.account,
          secretKey: o.accountSecret,
          admin: o.admin === true,
          ...(o.whiteRemoteAddress !== undefined ? { whiteRemoteAddress: o.whiteRemoteAddress } : {}),
          ...(o.defaultTopicPerm !== undefined ? { defaultTopicPerm: o.defaultTopicPerm } : {}),
          ...(o.defaultGroupPerm !== undefined ? { defaultGroupPerm: o.defaultGroupPerm } : {}),
          ...(topicPerms !== undefined ? { topicPerms } : {}),
          ...(groupPerms !== undefined ? { groupPerms } : {}),
        }, o.clusterName));
        if (o.json === true) return printJson({ accessKey: o.account, brokers: addrs });
        process.stdout.write(`ACL account ${o.account} created or updated on ${addrs.join(', ')}\n`);
      }),
    );

  sub(admin, 'deleteAclConfig', 'delete an ACL account on every group (replicated through Raft; admin only)')
    .requiredOption('-a, --account <accessKey>', "the account's access key")
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .action(
      action<Common & { account: string; clusterName?: string }>(async (o) => {
        const addrs = await withAdmin(o, (a) => a.deleteAclConfig(o.account, o.clusterName));
        if (o.json === true) return printJson({ accessKey: o.account, brokers: addrs });
        process.stdout.write(`ACL account ${o.account} deleted on ${addrs.join(', ')}\n`);
      }),
    );

  sub(admin, 'getAclConfig', 'the ACL rules each group enforces (never a secret key; admin only)')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .action(
      action<Common & { clusterName?: string }>(async (o) => {
        const groups = await withAdmin(o, (a) => a.getAclConfig(o.clusterName));
        if (o.json === true) return printJson({ groups });
        printTable(
          ['group', 'version', 'account', 'admin', 'topic default', 'group default', 'topic perms', 'group perms', 'white address', 'source'],
          groups.flatMap((g) => g.accounts.map((a) => [g.brokerName, g.version, a.accessKey, a.admin === true ? 'yes' : '', a.defaultTopicPerm ?? '', a.defaultGroupPerm ?? '', (a.topicPerms ?? []).join(' '), (a.groupPerms ?? []).join(' '), a.whiteRemoteAddress ?? '', a.source])),
        );
      }),
    );
}
