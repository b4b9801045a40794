// Which follower may take leadership from a leader whose disk is too full to write: one that says
// (in its RAFT_STATUS answer) that its own disk takes writes, the most caught-up first. A
// follower's client address comes from the replicated metadata when it has led, else from the
// NameServer, where followers register as their peer position + 1. A follower that cannot be
// asked is not chosen: handing leadership to a node just as full would only move the refusals.

import type { Logger } from '../common/logger.js';
import type { RemotingClient } from '../protocol/remoting-client.js';
import { makeRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { decodeJsonBody, type ClusterInfo } from '../protocol/route-data.js';
import { RaftAdminCode } from './processors/raft-admin.js';

const ASK_TIMEOUT_MS = 1_000;

export interface DiskHandOffInput {
  selfId: string;
  /** Every member in dLegerPeers order (a follower registers as its position + 1). */
  peerIds: readonly string[];
  /** Match index of each follower (leader's view). */
  matchOf: (id: string) => number;
  /** A member's client address if the replicated metadata knows it. */
  brokerAddrOf: (id: string) => string | undefined;
  brokerName: string;
  namesrvAddrs: readonly string[];
  client: RemotingClient;
  log: Logger;
}

/** The follower to hand leadership to, or undefined when none is known to have room. */
export async function writableFollower(o: DiskHandOffInput): Promise<string | undefined> {
  const followers = o.peerIds.filter((id) => id !== o.selfId).sort((a, b) => o.matchOf(b) - o.matchOf(a));
  let registered: Record<string, string> | undefined;
  for (const id of followers) {
    let addr = o.brokerAddrOf(id);
    if (addr === undefined) {
      registered ??= await registeredAddrs(o);
      addr = registered[String(o.peerIds.indexOf(id) + 1)];
    }
    if (addr !== undefined && (await hasRoom(o, id, addr))) return id;
  }
  return undefined;
}

/** brokerId → address of this group at the first NameServer that answers ({} if none does). */
async function registeredAddrs(o: DiskHandOffInput): Promise<Record<string, string>> {
  for (const ns of o.namesrvAddrs) {
    try {
      const resp = await o.client.invoke(ns, makeRequest(RequestCode.GET_BROKER_CLUSTER_INFO), ASK_TIMEOUT_MS);
      if (resp.code !== ResponseCode.SUCCESS) continue;
      return decodeJsonBody<ClusterInfo>(resp.body, 'cluster info').brokerAddrTable[o.brokerName]?.brokerAddrs ?? {};
    } catch (err) {
      o.log.debug({ err, namesrv: ns }, 'disk hand-off: NameServer did not answer');
    }
  }
  return {};
}

async function hasRoom(o: DiskHandOffInput, id: string, addr: string): Promise<boolean> {
  try {
    const resp = await o.client.invoke(addr, makeRequest(RaftAdminCode.RAFT_STATUS), ASK_TIMEOUT_MS);
    if (resp.code !== ResponseCode.SUCCESS) return false;
    const status = decodeJsonBody<{ nodeId?: string; diskWritable?: boolean }>(resp.body, 'raft status');
    return status.nodeId === id && status.diskWritable === true;
  } catch (err) {
    o.log.debug({ err, peer: id, addr }, 'disk hand-off: follower did not answer');
    return false;
  }
}
