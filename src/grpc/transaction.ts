// Transactions over the gRPC endpoint, on the broker's own transaction service:
// - SendMessage of a TRANSACTION message becomes the half-message send a remoting transaction
//   producer makes (prepared sysFlag, TRAN_MSG, PGROUP); its transactionId is the half message's
//   offset id, which names the half message again in EndTransaction.
// - EndTransaction becomes an END_TRANSACTION (answered), through the same processor (relayed to
//   the leader by a follower; each transaction decided at most once).
// - The check-back: v5 Settings carry no producer group, so a gRPC producer is registered, for
//   each topic it publishes, as a producer of the group `%GRPC_TX%<topic>` (the PGROUP of its
//   half messages), with a channel that turns CHECK_TRANSACTION_STATE into a
//   RecoverOrphanedTransactionCommand on its Telemetry stream. Heartbeats keep it registered.
//   The leader's check service asks the producers attached to it; a follower relays the
//   leader's checks to those attached to it (broker/transaction/check-relay.ts).

import type * as grpc from '@grpc/grpc-js';
import type { BrokerContext } from '../broker/broker-context.js';
import { endTransactionProcessor } from '../broker/processors/end-transaction.js';
import { forgetChannel, registerProducerChannel } from '../broker/processors/heartbeat.js';
import { BadMessageIdError } from '../common/message/message-errors.js';
import { GRPC_TRANSACTION_GROUP_PREFIX } from '../common/system-topics.js';
import { createMessageId, parseMessageId } from '../common/message/message-id.js';
import { decodeMessageRecord } from '../common/message/message-record.js';
import { makeRequest, SerializeType, type RemotingCommand } from '../protocol/remoting-command.js';
import type { RemotingChannel } from '../protocol/remoting-server.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { callChannel } from './grpc-channel.js';
import { toV5Message } from './message-view.js';
import { ok, status, type Resource, type Status } from './proto.js';
import { statusOfError, statusOfResponse } from './status-map.js';

/** The producer group of a gRPC producer's transactions on `topic`. */
export function grpcTransactionGroup(topic: string): string {
  return `${GRPC_TRANSACTION_GROUP_PREFIX}${topic}`;
}

/** The v5 transactionId of a half message: its offset id (store address + physical offset). */
export function transactionIdOf(halfOffsetMsgId: string): string {
  return halfOffsetMsgId;
}

let nextChannelId = -1_000_000_000;

/** A Telemetry stream seen as a producer channel: checks become RecoverOrphanedTransactionCommands. */
function telemetryChannel(ctx: BrokerContext, call: grpc.ServerDuplexStream<unknown, unknown>, peer: string): RemotingChannel {
  let closed = false;
  call.on('close', () => (closed = true));
  call.on('error', () => (closed = true));
  call.on('finish', () => (closed = true));
  return {
    id: nextChannelId--,
    remoteAddress: peer.replace(/^ipv[46]:/, ''),
    get closed() {
      return closed || call.cancelled;
    },
    inflightRequests: 0,
    serializeType: SerializeType.JSON,
    send: () => false,
    sendOneway(cmd: RemotingCommand): boolean {
      if (closed || cmd.code !== RequestCode.CHECK_TRANSACTION_STATE || cmd.body === undefined) return false;
      try {
        const rec = decodeMessageRecord(cmd.body, 0, { verifyCrc: false });
        const message = toV5Message(rec, { receiptHandle: '', attempt: 0, invisibleMs: 0 });
        message.systemProperties.messageType = 'TRANSACTION';
        const halfId = createMessageId(rec.storeHost, rec.storePort, Number(cmd.extFields['commitLogOffset']));
        return call.write({ recoverOrphanedTransactionCommand: { message, transactionId: transactionIdOf(halfId) } }) || true;
      } catch (err) {
        ctx.log.warn({ err }, 'gRPC: a transaction check could not be sent on the telemetry stream');
        return false;
      }
    },
    close: () => {
      closed = true;
    },
  };
}

/** gRPC producers' telemetry channels by client id, to keep their registrations fresh. */
export class GrpcTransactionCheckers {
  private readonly byClient = new Map<string, { channel: RemotingChannel; groups: Set<string> }>();

  constructor(private readonly ctx: BrokerContext) {}

  /** A producer's settings arrived on its Telemetry stream: it answers checks of its topics. */
  register(clientId: string, call: grpc.ServerDuplexStream<unknown, unknown>, topics: readonly (Resource | null | undefined)[]): void {
    if (clientId === '') return;
    let entry = this.byClient.get(clientId);
    if (entry === undefined || entry.channel.closed) {
      entry = { channel: telemetryChannel(this.ctx, call, call.getPeer()), groups: new Set() };
      this.byClient.set(clientId, entry);
      const registered = entry;
      call.on('close', () => {
        if (this.byClient.get(clientId) === registered) this.byClient.delete(clientId);
        forgetChannel(this.ctx, registered.channel);
      });
    }
    for (const t of topics) if (t?.name) entry.groups.add(grpcTransactionGroup(t.name));
    this.refresh(clientId);
  }

  /** A heartbeat: the client's registrations stay alive. */
  refresh(clientId: string): void {
    const entry = this.byClient.get(clientId);
    if (entry === undefined) return;
    for (const g of entry.groups) registerProducerChannel(this.ctx, clientId, entry.channel, g);
  }
}

interface EndTransactionRequest { topic?: Resource | null; messageId?: string; transactionId?: string; resolution?: string; source?: string }

/** EndTransaction: COMMIT or ROLLBACK of the half message the transactionId names. */
export async function endTransaction(ctx: BrokerContext, r: EndTransactionRequest, peer: string): Promise<{ status: Status }> {
  let physical: number;
  try {
    physical = parseMessageId(r.transactionId ?? '').physicalOffset;
  } catch (err) {
    if (err instanceof BadMessageIdError) return { status: status('INVALID_TRANSACTION_ID', `transactionId '${String(r.transactionId).slice(0, 64)}' is not one this broker gave (an offset message id)`) };
    throw err;
  }
  const resolution = r.resolution === 'COMMIT' ? '8' : r.resolution === 'ROLLBACK' ? '12' : undefined;
  if (resolution === undefined) return { status: status('BAD_REQUEST', `resolution must be COMMIT or ROLLBACK, got ${r.resolution ?? 'none'}`) };
  const req = makeRequest(RequestCode.END_TRANSACTION, {
    producerGroup: grpcTransactionGroup(r.topic?.name ?? ''),
    tranStateTableOffset: '0',
    commitLogOffset: String(physical),
    commitOrRollback: resolution,
    fromTransactionCheck: String(r.source === 'SOURCE_SERVER_CHECK'),
    msgId: r.messageId ?? '',
    transactionId: r.transactionId ?? '',
  });
  const channel = callChannel(peer);
  try {
    const resp = await endTransactionProcessor.handle(ctx, req, channel);
    if (!resp) return { status: status('INTERNAL_SERVER_ERROR', 'the end-transaction processor gave no answer') };
    return { status: resp.code === ResponseCode.SUCCESS ? ok() : statusOfResponse(resp.code, resp.remark) };
  } catch (err) {
    return { status: statusOfError(err) };
  } finally {
    channel.finish();
  }
}
