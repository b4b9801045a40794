// ACL administration over the remoting port, with RocketMQ's codes and header fields:
// UPDATE_AND_CREATE_ACL_CONFIG (50) creates or replaces one account, DELETE_ACL_CONFIG (51)
// removes one, GET_BROKER_CLUSTER_ACL_INFO (52) shows the rules in force (never a secret key).
// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53) is refused with a remark saying what to do instead: the
// global white list comes from plain_acl.yml only (docs/security.md).
// Changes are replicated control entries proposed by the leader (a follower relays), so every
// node of the group enforces them, also after a failover. The ACL check in front of these
// handlers already requires an admin account (acl-resources.ts).
import { headerBool, headerOptString, headerString } from '../../protocol/headers.js';
import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { AclRequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody } from '../../protocol/route-data.js';
import { ACL_ACCESS_KEY } from '../../protocol/acl-signature.js';
import type { BrokerContext } from '../broker-context.js';
import type { AclRules } from './acl-rules.js';
import { AclConfigError, parseAclAccount, publicAccountDoc, type AclAccountDoc } from './plain-acl.js';

export const ACL_ADMIN_CODES: readonly number[] = [
  AclRequestCode.UPDATE_AND_CREATE_ACL_CONFIG,
  AclRequestCode.DELETE_ACL_CONFIG,
  AclRequestCode.GET_BROKER_CLUSTER_ACL_INFO,
  AclRequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
];

/** What code 53 answers: not served, and how to get the same effect. */
export const GLOBAL_WHITE_LIST_REFUSAL =
  'UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53) is not served: globalWhiteRemoteAddresses come from plain_acl.yml only; ' +
  'edit it on every node and restart them one at a time, or give an account a whiteRemoteAddress with UPDATE_AND_CREATE_ACL_CONFIG (50)';

/** RocketMQ sends permission lists as one comma-separated field ("TopicA=PUB,TopicB=SUB"). */
function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The account a request describes, checked exactly as plain_acl.yml's accounts are. */
export function accountDocOf(ext: RemotingCommand['extFields']): AclAccountDoc {
  const doc: AclAccountDoc = { accessKey: headerString(ext, 'accessKey'), secretKey: headerString(ext, 'secretKey') };
  const white = headerOptString(ext, 'whiteRemoteAddress');
  if (white !== undefined && white !== '') doc.whiteRemoteAddress = white;
  doc.admin = headerBool(ext, 'admin', false);
  const topicPerm = headerOptString(ext, 'defaultTopicPerm');
  if (topicPerm !== undefined && topicPerm !== '') doc.defaultTopicPerm = topicPerm;
  const groupPerm = headerOptString(ext, 'defaultGroupPerm');
  if (groupPerm !== undefined && groupPerm !== '') doc.defaultGroupPerm = groupPerm;
  const topicPerms = list(headerOptString(ext, 'topicPerms'));
  if (topicPerms !== undefined) doc.topicPerms = topicPerms;
  const groupPerms = list(headerOptString(ext, 'groupPerms'));
  if (groupPerms !== undefined) doc.groupPerms = groupPerms;
  return doc;
}

export async function handleAclAdmin(ctx: BrokerContext, rules: AclRules | undefined, req: RemotingCommand): Promise<RemotingCommand> {
  if (req.code === AclRequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG) return makeResponse(req, ResponseCode.REQUEST_CODE_NOT_SUPPORTED, GLOBAL_WHITE_LIST_REFUSAL);
  if (rules === undefined) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `request ${req.code}: ACL is not enabled on this broker (set aclEnable=true in broker.conf)`);
  switch (req.code) {
    case AclRequestCode.UPDATE_AND_CREATE_ACL_CONFIG: {
      const doc = accountDocOf(req.extFields);
      try {
        parseAclAccount(doc, `account ${doc.accessKey}`);
      } catch (err) {
        if (err instanceof AclConfigError) return makeResponse(req, ResponseCode.SYSTEM_ERROR, err.message);
        throw err;
      }
      return ctx.writeOrForward(req, async () => {
        await ctx.raft.proposeControl({ kind: 'acl-account-upsert', account: doc });
        ctx.log.info({ accessKey: doc.accessKey, by: req.extFields[ACL_ACCESS_KEY] }, 'ACL account created or updated');
        return makeResponse(req, ResponseCode.SUCCESS);
      });
    }
    case AclRequestCode.DELETE_ACL_CONFIG: {
      const accessKey = headerString(req.extFields, 'accessKey');
      if (!rules.config().accounts.has(accessKey)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `no ACL account ${accessKey} to delete`);
      // An admin deleting the account it signs with would lock itself out mid-operation.
      if (req.extFields[ACL_ACCESS_KEY] === accessKey) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `account ${accessKey} signed this request; delete it with another admin account`);
      return ctx.writeOrForward(req, async () => {
        await ctx.raft.proposeControl({ kind: 'acl-account-delete', accessKey });
        ctx.log.info({ accessKey, by: req.extFields[ACL_ACCESS_KEY] }, 'ACL account deleted');
        return makeResponse(req, ResponseCode.SUCCESS);
      });
    }
    default: {
      const config = rules.config();
      const body = {
        globalWhiteRemoteAddresses: config.globalWhiteRemoteAddresses.map((p) => p.text),
        accounts: [...config.accounts.values()].map((a) => ({ ...publicAccountDoc(a), source: rules.isReplicated(a.accessKey) ? 'replicated' : 'file' })),
      };
      return makeResponse(req, ResponseCode.SUCCESS, undefined, {
        version: rules.fingerprint,
        brokerName: ctx.config.brokerName,
        brokerAddr: ctx.brokerAddr,
        clusterName: ctx.config.brokerClusterName,
      }, encodeJsonBody(body));
    }
  }
}
