// Queries to the NameServers: routes (105), cluster info (106) and the topic list (206). The
// addresses are tried round-robin, moving on when one does not answer, so one dead NameServer
// costs a failed connect and not a failed call.
import type { Logger } from '../common/logger.js';
import {
  decodeJsonBody,
  makeRequest,
  RequestCode,
  ResponseCode,
  type ClusterInfo,
  type RemotingClient,
  type RemotingCommand,
  type TopicRouteData,
} from '../protocol/index.js';
import { requestCodeName } from '../protocol/code-names.js';
import { ClientConfigError, InvalidTopicError, MalformedResponseError, NameServerUnreachableError, TopicNotExistError, BrokerResponseError } from './client-errors.js';

/** A NameServer's refusal; a process that does not know the request is not a NameServer at all. */
function refusal(addr: string, requestCode: number, resp: RemotingCommand): Error {
  if (resp.code === ResponseCode.REQUEST_CODE_NOT_SUPPORTED) {
    return new ClientConfigError(`${addr} does not answer ${requestCodeName(requestCode)}: it is not a NameServer (a broker's port?); give the NameServer's host:port (-n, namesrvAddr)`);
  }
  return new BrokerResponseError(addr, requestCode, resp.code, resp.remark);
}

export class NamesrvClient {
  private next = 0;

  constructor(
    private readonly remoting: RemotingClient,
    readonly addrs: readonly string[],
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Sends to one NameServer after another until one answers; throws NameServerUnreachableError. */
  async invoke(build: () => RemotingCommand): Promise<{ resp: RemotingCommand; addr: string }> {
    let lastErr: unknown;
    for (let i = 0; i < this.addrs.length; i++) {
      const addr = this.addrs[(this.next + i) % this.addrs.length]!;
      try {
        const resp = await this.remoting.invoke(addr, build(), this.timeoutMs);
        this.next = (this.next + i + 1) % this.addrs.length;
        return { resp, addr };
      } catch (err) {
        lastErr = err;
        this.log.debug({ err, addr }, 'NameServer did not answer; trying the next one');
      }
    }
    throw new NameServerUnreachableError(this.addrs, { cause: lastErr });
  }

  async getRoute(topic: string): Promise<TopicRouteData> {
    const { resp, addr } = await this.invoke(() => makeRequest(RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic }));
    if (resp.code === ResponseCode.TOPIC_NOT_EXIST) throw new TopicNotExistError(topic, resp.remark);
    if (resp.code === ResponseCode.SYSTEM_ERROR && resp.remark?.includes('invalid topic name') === true) throw new InvalidTopicError(topic, resp.remark);
    if (resp.code !== ResponseCode.SUCCESS) throw refusal(addr, RequestCode.GET_ROUTEINFO_BY_TOPIC, resp);
    const route = parseBody<TopicRouteData>(resp, `route of ${topic}`);
    if (!Array.isArray(route.brokerDatas) || !Array.isArray(route.queueDatas)) throw new MalformedResponseError(`route of ${topic} from ${addr} lacks brokerDatas/queueDatas`);
    return route;
  }

  async getClusterInfo(): Promise<ClusterInfo> {
    const { resp, addr } = await this.invoke(() => makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO));
    if (resp.code !== ResponseCode.SUCCESS) throw refusal(addr, RequestCode.GET_BROKER_CLUSTER_INFO, resp);
    const info = parseBody<ClusterInfo>(resp, 'cluster info');
    info.brokerAddrTable ??= {};
    info.clusterAddrTable ??= {};
    return info;
  }

  async getTopicList(): Promise<string[]> {
    const { resp, addr } = await this.invoke(() => makeRequest(RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER));
    if (resp.code !== ResponseCode.SUCCESS) throw refusal(addr, RequestCode.GET_ALL_TOPIC_LIST_FROM_NAMESERVER, resp);
    const body = parseBody<{ topicList?: string[] }>(resp, 'topic list');
    return Array.isArray(body.topicList) ? body.topicList : [];
  }
}

export function parseBody<T>(resp: RemotingCommand, what: string): T {
  try {
    return decodeJsonBody<T>(resp.body, what);
  } catch (err) {
    throw new MalformedResponseError(`${what}: the response body is not JSON`, { cause: err });
  }
}
