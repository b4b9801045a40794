// What each request code needs under ACL, as RocketMQ's PlainAccessResource decides it: sends
// need PUB on the topic (a send to a retry topic, SUB on its group); pulls, offsets and
// heartbeats need SUB on the topic and the consumer group; group queries and send-backs SUB on
// the group; administration needs an admin account; anything else (offset and message look-ups)
// needs only a valid signature. A request whose fields are missing or malformed is let through
// to its processor, which refuses it with its own remark: the ACL never has to guess.
import { AclRequestCode, RaftRequestCode, RequestCode } from '../../protocol/request-code.js';
import type { RemotingCommand } from '../../protocol/remoting-command.js';
import { Perm } from './plain-acl.js';

export interface AclNeed {
  kind: 'topic' | 'group';
  name: string;
  perm: number;
}

export interface AclRequirement {
  admin: boolean;
  needs: AclNeed[];
}

const RETRY_PREFIX = '%RETRY%';

/** Codes of administration (RocketMQ's and ours); 50-53 are the ACL admin codes themselves. */
const ADMIN_CODES: ReadonlySet<number> = new Set([
  RequestCode.UPDATE_AND_CREATE_TOPIC,
  RequestCode.DELETE_EXPIRED_COMMITLOG,
  RequestCode.RESET_CONSUMER_CLIENT_OFFSET,
  AclRequestCode.UPDATE_AND_CREATE_ACL_CONFIG,
  AclRequestCode.DELETE_ACL_CONFIG,
  AclRequestCode.GET_BROKER_CLUSTER_ACL_INFO,
  AclRequestCode.UPDATE_GLOBAL_WHITE_ADDRS_CONFIG,
  200, // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP
  207, // DELETE_SUBSCRIPTIONGROUP
  215, // DELETE_TOPIC_IN_BROKER
  222, // INVOKE_BROKER_TO_RESET_OFFSET
  RaftRequestCode.RAFT_TRANSFER_LEADER,
  RaftRequestCode.RAFT_STATUS,
  RaftRequestCode.RAFT_REPLICA_DIGEST,
  RaftRequestCode.RAFT_CHANGE_MEMBERS,
]);

const SEND_V2_TOPIC = 'b';

function field(req: RemotingCommand, name: string): string | undefined {
  const v = req.extFields[name];
  return v === undefined || v === '' ? undefined : String(v);
}

/** A topic need; a retry topic is its group's resource. */
function topicNeed(topic: string, perm: number): AclNeed {
  return topic.startsWith(RETRY_PREFIX) ? { kind: 'group', name: topic.slice(RETRY_PREFIX.length), perm: Perm.SUB } : { kind: 'topic', name: topic, perm };
}

interface HeartbeatBody {
  consumerDataSet?: { groupName?: unknown; subscriptionDataSet?: { topic?: unknown }[] }[];
}

function heartbeatNeeds(body: Buffer | undefined): AclNeed[] {
  if (body === undefined || body.length === 0) return [];
  let hb: HeartbeatBody;
  try {
    hb = JSON.parse(body.toString('utf8')) as HeartbeatBody;
  } catch {
    return [];
  }
  const needs: AclNeed[] = [];
  for (const c of Array.isArray(hb.consumerDataSet) ? hb.consumerDataSet : []) {
    if (typeof c?.groupName === 'string') needs.push({ kind: 'group', name: c.groupName, perm: Perm.SUB });
    for (const s of Array.isArray(c?.subscriptionDataSet) ? c.subscriptionDataSet : []) {
      if (typeof s?.topic === 'string' && !s.topic.startsWith(RETRY_PREFIX)) needs.push({ kind: 'topic', name: s.topic, perm: Perm.SUB });
    }
  }
  return needs;
}

export function aclRequirement(req: RemotingCommand): AclRequirement {
  if (ADMIN_CODES.has(req.code)) return { admin: true, needs: [] };
  const needs: AclNeed[] = [];
  const add = (kind: 'topic' | 'group', name: string | undefined, perm: number): void => {
    if (name === undefined) return;
    needs.push(kind === 'topic' ? topicNeed(name, perm) : { kind, name, perm });
  };
  switch (req.code) {
    case RequestCode.SEND_MESSAGE:
      add('topic', field(req, 'topic'), Perm.PUB);
      break;
    case RequestCode.SEND_MESSAGE_V2:
    case RequestCode.SEND_BATCH_MESSAGE:
      add('topic', field(req, SEND_V2_TOPIC) ?? field(req, 'topic'), Perm.PUB);
      break;
    case RequestCode.PULL_MESSAGE:
    case RequestCode.QUERY_CONSUMER_OFFSET:
    case RequestCode.UPDATE_CONSUMER_OFFSET:
      add('topic', field(req, 'topic'), Perm.SUB);
      add('group', field(req, 'consumerGroup'), Perm.SUB);
      break;
    case RequestCode.QUERY_MESSAGE:
      add('topic', field(req, 'topic'), Perm.SUB);
      break;
    case RequestCode.HEART_BEAT:
      needs.push(...heartbeatNeeds(req.body));
      break;
    case RequestCode.UNREGISTER_CLIENT:
    case RequestCode.GET_CONSUMER_LIST_BY_GROUP:
      add('group', field(req, 'consumerGroup'), Perm.SUB);
      break;
    case RequestCode.CONSUMER_SEND_MSG_BACK:
      add('group', field(req, 'group'), Perm.SUB);
      break;
    default:
      break;
  }
  return { admin: false, needs };
}
