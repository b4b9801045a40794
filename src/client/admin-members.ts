// Raft membership changes of a broker group (add a learner, promote it, remove a member), sent
// through the group's leader. Admin exposes this; kept apart to keep admin.ts small.
import { makeRequest, MASTER_ID, ResponseCode } from '../protocol/index.js';
import { RaftRequestCode } from './client-constants.js';
import { BrokerResponseError, ClientConfigError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { parseBody } from './namesrv-client.js';

/** The JSON body of RAFT_CHANGE_MEMBERS (1503): the change's log index and term, and the configuration now in force. */
export interface ChangeMembersResult {
  index: number;
  term: number;
  voters: string[];
  learners: string[];
}

/**
 * RAFT_CHANGE_MEMBERS (1503) through the group's leader: add a learner (with its Raft address,
 * host:port), promote a learner to voter, or remove a member; resolves once it is in force.
 */
export async function changeMembers(instance: ClientInstance, brokerName: string, kind: 'add-learner' | 'promote' | 'remove', nodeId: string, address?: string, timeoutMs = 15_000): Promise<ChangeMembersResult> {
  const info = await instance.namesrv.getClusterInfo();
  const addr = info.brokerAddrTable[brokerName]?.brokerAddrs[String(MASTER_ID)];
  if (addr === undefined) {
    throw new ClientConfigError(`broker group '${brokerName}' has no leader registered; check the name with clusterInfo (known: ${Object.keys(info.brokerAddrTable).join(', ') || 'none'})`);
  }
  const req = makeRequest(RaftRequestCode.RAFT_CHANGE_MEMBERS, address === undefined ? { kind, nodeId } : { kind, nodeId, address });
  const resp = await instance.invoke(addr, req, timeoutMs);
  if (resp.code !== ResponseCode.SUCCESS) throw new BrokerResponseError(addr, req.code, resp.code, resp.remark);
  return parseBody<ChangeMembersResult>(resp, 'change members result');
}
