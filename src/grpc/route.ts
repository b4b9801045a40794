// QueryRoute: the topic's queues on THIS broker group, all behind one gRPC address. The address
// is the one the client used to reach us (its `endpoints`), so a client configured with any
// node's gRPC port keeps talking to that node; writes reaching a follower are relayed to the
// leader by the same path remoting sends take. Other broker groups are not listed: this node
// cannot serve their queues (docs/protocol.md, "gRPC").

import { isIPv4, isIPv6 } from 'node:net';
import { PERM_READ, PERM_WRITE } from '../protocol/route-data.js';
import type { BrokerContext } from '../broker/broker-context.js';
import { isValidTopicName } from '../common/names.js';
import { ok, status, type Endpoints, type Resource, type Status } from './proto.js';

export interface QueryRouteRequest { topic?: Resource; endpoints?: Endpoints }
export interface QueryRouteResponse { status: Status; messageQueues: unknown[] }

/** What every message queue accepts: no lite or priority messages here. */
export const ACCEPTED_MESSAGE_TYPES = ['NORMAL', 'FIFO', 'DELAY', 'TRANSACTION'];

export function endpointsOf(host: string, port: number): Endpoints {
  const scheme = isIPv4(host) ? 'IPv4' : isIPv6(host) ? 'IPv6' : 'DOMAIN_NAME';
  return { scheme, addresses: [{ host, port }] };
}

/** The client's own access point when it names one address, else this node's gRPC address. */
export function answerEndpoints(req: Endpoints | undefined, self: Endpoints): Endpoints {
  const a = req?.addresses ?? [];
  if (a.length === 1 && a[0]!.host !== '' && a[0]!.port > 0) return endpointsOf(a[0]!.host, a[0]!.port);
  return self;
}

function permissionOf(perm: number, queueId: number, readQueues: number, writeQueues: number): string {
  const r = (perm & PERM_READ) !== 0 && queueId < readQueues;
  const w = (perm & PERM_WRITE) !== 0 && queueId < writeQueues;
  return r && w ? 'READ_WRITE' : r ? 'READ' : w ? 'WRITE' : 'NONE';
}

export function queryRoute(ctx: BrokerContext, req: QueryRouteRequest, self: Endpoints): QueryRouteResponse {
  const topic: string = req.topic?.name ?? '';
  if (!isValidTopicName(topic)) return { status: status('ILLEGAL_TOPIC', `invalid topic name '${String(topic).slice(0, 200)}'`), messageQueues: [] };
  const config = ctx.metadata.topic(topic);
  // A topic that does not exist yet but would be created by its first send (autoCreateTopicEnable)
  // is answered with the queues that send will create.
  const readQueues = config?.readQueueNums ?? ctx.config.defaultTopicQueueNums;
  const writeQueues = config?.writeQueueNums ?? ctx.config.defaultTopicQueueNums;
  const perm = config?.perm ?? PERM_READ | PERM_WRITE;
  if (config === undefined && !ctx.config.autoCreateTopicEnable) {
    return { status: status('TOPIC_NOT_FOUND', `topic ${topic} does not exist on broker group ${ctx.config.brokerName} and autoCreateTopicEnable is false; create it first`), messageQueues: [] };
  }
  const broker = { name: ctx.config.brokerName, id: 0, endpoints: answerEndpoints(req.endpoints, self) };
  const messageQueues = [];
  for (let id = 0; id < Math.max(readQueues, writeQueues); id++) {
    messageQueues.push({ topic: { name: topic, resourceNamespace: req.topic?.resourceNamespace ?? '' }, id, permission: permissionOf(perm, id, readQueues, writeQueues), broker, acceptMessageTypes: ACCEPTED_MESSAGE_TYPES });
  }
  return { status: ok(), messageQueues };
}

export interface QueryAssignmentRequest { topic?: Resource; group?: Resource; endpoints?: Endpoints }

/**
 * QueryAssignment (PushConsumer): one queue of this broker group per topic. A receive serves
 * every readable queue of the topic whatever queue it names, so one assignment covers them all
 * and every consumer of the group may hold it.
 */
export function queryAssignment(ctx: BrokerContext, req: QueryAssignmentRequest, self: Endpoints): { status: Status; assignments: unknown[] } {
  const topic: string = req.topic?.name ?? '';
  if ((req.group?.name ?? '') === '') return { status: status('ILLEGAL_CONSUMER_GROUP', 'the consumer group is empty'), assignments: [] };
  const config = ctx.metadata.topic(topic);
  if (config === undefined) return { status: status('TOPIC_NOT_FOUND', `topic ${topic} does not exist on broker group ${ctx.config.brokerName}`), assignments: [] };
  if ((config.perm & PERM_READ) === 0 || config.readQueueNums === 0) return { status: ok(), assignments: [] };
  const broker = { name: ctx.config.brokerName, id: 0, endpoints: answerEndpoints(req.endpoints, self) };
  const messageQueue = { topic: { name: topic, resourceNamespace: req.topic?.resourceNamespace ?? '' }, id: 0, permission: permissionOf(config.perm, 0, config.readQueueNums, config.writeQueueNums), broker, acceptMessageTypes: ACCEPTED_MESSAGE_TYPES };
  return { status: ok(), assignments: [{ messageQueue }] };
}
