// The ACL administration of mqadmin (plain_acl accounts), on every broker group's leader, which
// replicates each change through its log. Admin exposes these; kept apart to keep admin.ts small.
import { AclRequestCode, makeRequest, MASTER_ID, ResponseCode } from '../protocol/index.js';
import { BrokerResponseError, ClientConfigError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { parseBody } from './namesrv-client.js';

/** An ACL account for updateAclConfig, as plain_acl.yml writes it (permissions as text). */
export interface AclAccountSpec {
  accessKey: string;
  secretKey: string;
  whiteRemoteAddress?: string;
  admin?: boolean;
  defaultTopicPerm?: string;
  defaultGroupPerm?: string;
  /** "Topic=PUB|SUB" items. */
  topicPerms?: string[];
  groupPerms?: string[];
}

/** One group's answer to GET_BROKER_CLUSTER_ACL_INFO (52): the rules in force, without secrets. */
export interface GroupAclConfig {
  brokerName: string;
  addr: string;
  /** A hash of the rules in force: equal on two nodes exactly when they enforce the same rules. */
  version: string;
  globalWhiteRemoteAddresses: string[];
  accounts: (Omit<AclAccountSpec, 'secretKey'> & { source: 'file' | 'replicated' })[];
}

/** UPDATE_AND_CREATE_ACL_CONFIG (50) on every group's leader; returns the addresses that accepted it. */
export async function updateAclConfig(instance: ClientInstance, account: AclAccountSpec, clusterName?: string): Promise<string[]> {
  const ext: Record<string, string> = { accessKey: account.accessKey, secretKey: account.secretKey, admin: String(account.admin ?? false) };
  if (account.whiteRemoteAddress !== undefined) ext['whiteRemoteAddress'] = account.whiteRemoteAddress;
  if (account.defaultTopicPerm !== undefined) ext['defaultTopicPerm'] = account.defaultTopicPerm;
  if (account.defaultGroupPerm !== undefined) ext['defaultGroupPerm'] = account.defaultGroupPerm;
  if (account.topicPerms !== undefined) ext['topicPerms'] = account.topicPerms.join(',');
  if (account.groupPerms !== undefined) ext['groupPerms'] = account.groupPerms.join(',');
  return onEveryLeader(instance, AclRequestCode.UPDATE_AND_CREATE_ACL_CONFIG, ext, clusterName);
}

/** DELETE_ACL_CONFIG (51) on every group's leader. */
export function deleteAclConfig(instance: ClientInstance, accessKey: string, clusterName?: string): Promise<string[]> {
  return onEveryLeader(instance, AclRequestCode.DELETE_ACL_CONFIG, { accessKey }, clusterName);
}

/** GET_BROKER_CLUSTER_ACL_INFO (52) from every group's leader. */
export async function getAclConfig(instance: ClientInstance, clusterName?: string): Promise<GroupAclConfig[]> {
  const out: GroupAclConfig[] = [];
  for (const [brokerName, addr] of await leaders(instance, clusterName)) {
    const req = makeRequest(AclRequestCode.GET_BROKER_CLUSTER_ACL_INFO);
    const resp = await instance.invoke(addr, req);
    if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
    const body = parseBody<Omit<GroupAclConfig, 'brokerName' | 'addr' | 'version'>>(resp, `ACL config of ${addr}`);
    out.push({ brokerName, addr, version: String(resp.extFields['version'] ?? ''), ...body });
  }
  return out;
}

async function onEveryLeader(instance: ClientInstance, code: number, ext: Record<string, string>, clusterName?: string): Promise<string[]> {
  const done: string[] = [];
  for (const [, addr] of await leaders(instance, clusterName)) {
    const req = makeRequest(code, { ...ext });
    const resp = await instance.invoke(addr, req);
    if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
    done.push(addr);
  }
  return done;
}

/** [brokerName, leader address] of every group (of one cluster); throws when one has no leader. */
async function leaders(instance: ClientInstance, clusterName?: string): Promise<[string, string][]> {
  const info = await instance.namesrv.getClusterInfo();
  const names = clusterName === undefined ? Object.keys(info.brokerAddrTable) : info.clusterAddrTable[clusterName] ?? [];
  if (names.length === 0) throw new ClientConfigError(clusterName === undefined ? 'no broker is registered with the NameServer; start a broker group first' : `cluster '${clusterName}' has no brokers; check the cluster name (see clusterInfo)`);
  return names.sort().map((name) => {
    const addr = info.brokerAddrTable[name]?.brokerAddrs[String(MASTER_ID)];
    if (addr === undefined) throw new BrokerResponseError(name, 0, ResponseCode.SERVICE_NOT_AVAILABLE, `broker group ${name} has no master (leader) right now; retry when it has one`);
    return [name, addr];
  });
}
