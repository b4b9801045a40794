// The NameServer's request handlers: REGISTER_BROKER (103), UNREGISTER_BROKER (104),
// GET_ROUTEINFO_BY_TOPIC (105), GET_BROKER_CLUSTER_INFO (106),
// GET_ALL_TOPIC_LIST_FROM_NAMESERVER (206) and DELETE_TOPIC_IN_NAMESRV (216). They translate wire headers into RouteInfoManager
// calls; every refusal is a response code with a remark a person can act on.
import { InvalidTopicNameError, isValidTopicName, TOPIC_NAME_RULE } from '../common/names.js';
import type { Logger } from '../common/logger.js';
import { headerInt, headerOptInt, headerOptString, headerString } from '../protocol/headers.js';
import { makeResponse, type ExtFields, type RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { encodeJsonBody, encodeTopicRouteData } from '../protocol/route-data.js';
import type { RemotingChannel, RemotingServer } from '../protocol/remoting-server.js';
import { parseRegisterBrokerBody } from './register-broker-body.js';
import type { RegistrationGuard } from './registration-guard.js';
import type { RouteInfoManager } from './route-info-manager.js';

export interface RouteQueryEvent {
  topic: string;
  responseCode: number;
  remoteAddress: string;
}

export interface NamesrvProcessorContext {
  routes: RouteInfoManager;
  log: Logger;
  nowMs: () => number;
  onRouteQuery: (event: RouteQueryEvent) => void;
  /** Checks who may register and unregister brokers (off without registration keys). */
  guard: RegistrationGuard;
}

export function registerNamesrvProcessors(server: RemotingServer, ctx: NamesrvProcessorContext): void {
  server.registerHandler(RequestCode.REGISTER_BROKER, ctx.guard.wrap((req) => registerBroker(ctx, req)));
  server.registerHandler(RequestCode.UNREGISTER_BROKER, ctx.guard.wrap((req) => unregisterBroker(ctx, req)));
  server.registerHandler(RequestCode.GET_ROUTEINFO_BY_TOPIC, (req, channel) => getRouteInfo(ctx, req, channel));
  server.registerHandler(RequestCode.GET_BROKER_CLUSTER_INFO, (req) =>
    makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody(ctx.routes.getClusterInfo())),
  );
  server.registerHandler(RequestCode.DELETE_TOPIC_IN_NAMESRV, (req) => deleteTopic(ctx, req));
  server.registerHandler(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, (req) =>
    makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeJsonBody({ topicList: ctx.routes.getTopicNames() })),
  );
}

function registerBroker(ctx: NamesrvProcessorContext, req: RemotingCommand): RemotingCommand {
  const ext = req.extFields;
  if (headerOptString(ext, 'compressed') === 'true') {
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, 'compressed register bodies are not supported; register with compressed=false');
  }
  const brokerId = headerInt(ext, 'brokerId');
  if (brokerId < 0) return makeResponse(req, ResponseCode.SYSTEM_ERROR, `brokerId must be >= 0, got ${brokerId}`);
  const { skippedTopics, skippedTopicCount, ...body } = parseRegisterBrokerBody(req.body);
  const brokerAddr = headerString(ext, 'brokerAddr');
  if (skippedTopicCount > 0) {
    ctx.log.warn({ brokerAddr, skippedTopicCount, skippedTopics, rule: TOPIC_NAME_RULE }, 'registration: left out topics whose names break the topic-name rule');
  }
  const result = ctx.routes.register(
    {
      clusterName: headerString(ext, 'clusterName'),
      brokerName: headerString(ext, 'brokerName'),
      brokerAddr,
      brokerId,
      haServerAddr: headerOptString(ext, 'haServerAddr') ?? '',
      raftTerm: headerOptInt(ext, 'raftTerm', 0),
      ...raftMembersOf(ext),
      ...body,
    },
    ctx.nowMs(),
  );
  if (!result.accepted) {
    ctx.log.info({ brokerAddr, masterAddr: result.masterAddr, masterRaftTerm: result.masterRaftTerm, raftTerm: ext['raftTerm'] }, 'ignored a brokerId 0 claim with a lower raft term');
  }
  const out: ExtFields = { accepted: String(result.accepted) };
  if (result.masterAddr !== undefined) out['masterAddr'] = result.masterAddr;
  if (result.masterRaftTerm !== undefined) out['masterRaftTerm'] = String(result.masterRaftTerm);
  if (result.masterHaServerAddr !== undefined) out['haServerAddr'] = result.masterHaServerAddr;
  return makeResponse(req, ResponseCode.SUCCESS, undefined, out);
}

/** DELETE_TOPIC_IN_NAMESRV (216): header `topic`; SUCCESS whether or not the route existed, as Apache. */
function deleteTopic(ctx: NamesrvProcessorContext, req: RemotingCommand): RemotingCommand {
  const topic = headerString(req.extFields, 'topic');
  if (!isValidTopicName(topic)) return makeResponse(req, ResponseCode.SYSTEM_ERROR, new InvalidTopicNameError(topic).message);
  const existed = ctx.routes.deleteTopic(topic);
  ctx.log.info({ topic, existed }, 'topic route deleted');
  return makeResponse(req, ResponseCode.SUCCESS, existed ? undefined : `no route for topic ${topic} was held; nothing deleted`);
}

function unregisterBroker(ctx: NamesrvProcessorContext, req: RemotingCommand): RemotingCommand {
  const brokerName = headerString(req.extFields, 'brokerName');
  const brokerAddr = headerString(req.extFields, 'brokerAddr');
  ctx.routes.unregister(brokerName, brokerAddr, ctx.nowMs());
  ctx.log.info({ brokerName, brokerAddr }, 'broker unregistered');
  return makeResponse(req, ResponseCode.SUCCESS);
}

function getRouteInfo(ctx: NamesrvProcessorContext, req: RemotingCommand, channel: RemotingChannel): RemotingCommand {
  const topic = headerString(req.extFields, 'topic');
  let resp: RemotingCommand;
  if (!isValidTopicName(topic)) {
    resp = makeResponse(req, ResponseCode.SYSTEM_ERROR, new InvalidTopicNameError(topic).message);
  } else {
    const route = ctx.routes.getRoute(topic);
    resp =
      route === undefined
        ? makeResponse(req, ResponseCode.TOPIC_NOT_EXIST, `no route for topic ${topic}: no live broker serves it and none allows auto-create`)
        : makeResponse(req, ResponseCode.SUCCESS, undefined, {}, encodeTopicRouteData(route));
  }
  ctx.onRouteQuery({ topic, responseCode: resp.code, remoteAddress: channel.remoteAddress });
  return resp;
}

const NODE_ID = /^[A-Za-z0-9_]{1,64}$/;

/** The registrant's member set (raftNodeId, raftVoters, raftLearners, raftMembershipIndex), when it sent one that reads. */
function raftMembersOf(ext: ExtFields): { raftMembers?: { nodeId: string; index: number; voters: string[]; learners: string[] } } {
  const nodeId = headerOptString(ext, 'raftNodeId');
  const votersText = headerOptString(ext, 'raftVoters');
  if (nodeId === undefined || votersText === undefined || !NODE_ID.test(nodeId)) return {};
  const list = (text: string | undefined): string[] | undefined => {
    const ids = (text ?? '').split(',').filter((x) => x !== '');
    return ids.length <= 64 && ids.every((x) => NODE_ID.test(x)) ? ids : undefined;
  };
  const voters = list(votersText);
  const learners = list(headerOptString(ext, 'raftLearners'));
  const index = Number(headerOptString(ext, 'raftMembershipIndex') ?? '0');
  if (voters === undefined || voters.length === 0 || learners === undefined || !Number.isSafeInteger(index) || index < 0) return {};
  return { raftMembers: { nodeId, index, voters, learners } };
}
