// The RocketMQ 5 gRPC endpoint of one broker node (grpcListenPort): serves
// apache.rocketmq.v2.MessagingService through the broker's public context, as a protocol
// adapter beside the remoting server. Served: QueryRoute, QueryAssignment, Heartbeat,
// NotifyClientTermination, Telemetry (settings, transaction checks), SendMessage (also
// TRANSACTION messages), EndTransaction, ReceiveMessage, AckMessage, ChangeInvisibleDuration,
// ForwardMessageToDeadLetterQueue. Everything else answers UNSUPPORTED
// with a reason (docs/protocol.md, "gRPC").

import * as grpc from '@grpc/grpc-js';
import type { BrokerContext } from '../broker/broker-context.js';
import { callChannel } from './grpc-channel.js';
import { GrpcEndpointError } from './grpc-errors.js';
import { messagingServiceDefinition, ok, status, type Endpoints, type Message, type Resource } from './proto.js';
import { endpointsOf, queryAssignment, queryRoute, type QueryAssignmentRequest, type QueryRouteRequest } from './route.js';
import { sendMessages } from './send.js';
import { SimpleConsumeService, type AckEntry, type ReceiveMessageRequest } from './simple-consume.js';
import { handleTelemetry } from './telemetry.js';
import { endTransaction, GrpcTransactionCheckers } from './transaction.js';

type Unary = (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => void;

/** Why each unserved method is not served, as the client will read it. */
const UNSERVED: Record<string, [string, string]> = {
  UpdateOffset: ['UNSUPPORTED', 'the gRPC PullConsumer is not served; use a remoting pull consumer'],
  GetOffset: ['UNSUPPORTED', 'the gRPC PullConsumer is not served; use a remoting pull consumer'],
  QueryOffset: ['UNSUPPORTED', 'the gRPC PullConsumer is not served; use a remoting pull consumer'],
  RecallMessage: ['UNSUPPORTED', 'recalling delay messages is not supported (delays use the broker\'s delay levels)'],
  SyncLiteSubscription: ['UNSUPPORTED', 'lite topics are not supported'],
};

function reply(cb: grpc.sendUnaryData<unknown>, work: () => unknown | Promise<unknown>, log: BrokerContext['log'], method: string): void {
  Promise.resolve()
    .then(work)
    .then(
      (resp) => cb(null, resp),
      (err: unknown) => {
        log.error({ err, method }, 'gRPC handler failed');
        cb(null, { status: status('INTERNAL_SERVER_ERROR', err instanceof Error ? err.message : String(err)) });
      },
    );
}

function groupName(g: Resource | null | undefined): string {
  return g?.name ?? '';
}

export class GrpcEndpoint {
  private readonly consume: SimpleConsumeService;
  private readonly checkers: GrpcTransactionCheckers;

  private constructor(
    private readonly ctx: BrokerContext,
    private readonly server: grpc.Server,
    readonly port: number,
    private readonly self: Endpoints,
  ) {
    this.consume = new SimpleConsumeService(ctx);
    this.checkers = new GrpcTransactionCheckers(ctx);
  }

  /** Binds `host:port` (0 picks a free port) and serves until close(). */
  static async start(ctx: BrokerContext, host: string, port: number): Promise<GrpcEndpoint> {
    const def = messagingServiceDefinition();
    const server = new grpc.Server();
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(new GrpcEndpointError('ERR_GRPC_LISTEN', `the gRPC endpoint cannot listen on ${host}:${port}: ${err.message}; free the port or change grpcListenPort`)) : resolve(p)));
    });
    const endpoint = new GrpcEndpoint(ctx, server, bound, endpointsOf(host, bound));
    server.addService(def, endpoint.handlers());
    ctx.log.info({ grpcAddr: `${host}:${bound}` }, 'gRPC endpoint listening');
    return endpoint;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const ctx = this.ctx;
    const log = ctx.log;
    // With ACL on, remoting requests are signed and checked; this endpoint does not check
    // v5 credentials yet, so it refuses rather than serve unchecked (docs/security.md).
    const aclRefusal = ctx.config.aclEnable ? status('FORBIDDEN', 'aclEnable=true: the gRPC endpoint does not verify credentials yet, so it serves nothing; use a remoting client') : undefined;
    const guarded = (method: string, work: (call: grpc.ServerUnaryCall<any, any>) => unknown): Unary => (call, cb) =>
      reply(cb, () => (aclRefusal !== undefined ? { status: aclRefusal } : work(call)), log, method);
    const impl: grpc.UntypedServiceImplementation = {
      QueryRoute: guarded('QueryRoute', (call) => queryRoute(ctx, call.request as QueryRouteRequest, this.self)),
      QueryAssignment: guarded('QueryAssignment', (call) => queryAssignment(ctx, call.request as QueryAssignmentRequest, this.self)),
      Heartbeat: guarded('Heartbeat', (call) => {
        this.checkers.refresh(call.metadata.get('x-mq-client-id')[0]?.toString() ?? '');
        return { status: ok() };
      }),
      EndTransaction: guarded('EndTransaction', (call) => endTransaction(ctx, call.request as Parameters<typeof endTransaction>[1], call.getPeer())),
      NotifyClientTermination: guarded('NotifyClientTermination', () => ({ status: ok() })),
      SendMessage: guarded('SendMessage', (call) => {
        const channel = callChannel(call.getPeer());
        return sendMessages(ctx, (call.request as { messages: Message[] }).messages, channel).finally(() => channel.finish());
      }),
      AckMessage: guarded('AckMessage', (call) => {
        const r = call.request as { group?: Resource; topic?: Resource; entries: AckEntry[] };
        return this.consume.ack(groupName(r.group), r.topic?.name ?? '', r.entries);
      }),
      ForwardMessageToDeadLetterQueue: guarded('ForwardMessageToDeadLetterQueue', async (call) => {
        const r = call.request as { group?: Resource; topic?: Resource; receiptHandle: string };
        return { status: await this.consume.forwardToDeadLetter(groupName(r.group), r.topic?.name ?? '', r.receiptHandle) };
      }),
      ChangeInvisibleDuration: guarded('ChangeInvisibleDuration', (call) => {
        const r = call.request as { group?: Resource; topic?: Resource; receiptHandle: string; invisibleDuration?: { seconds: number; nanos: number } };
        return this.consume.changeInvisibleDuration(groupName(r.group), r.topic?.name ?? '', r.receiptHandle, r.invisibleDuration);
      }),
      ReceiveMessage: (call: grpc.ServerWritableStream<ReceiveMessageRequest, unknown>) => {
        if (aclRefusal !== undefined) {
          call.write({ status: aclRefusal });
          call.end();
          return;
        }
        const deadline = call.getDeadline();
        const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : ctx.nowMs() + 60_000;
        // A client that goes away ends the hold at once, not at the end of its polling time.
        const onCancel = new Promise<void>((resolve) => call.once('cancelled', () => resolve()));
        this.consume.receive(call.request, deadlineMs, () => call.cancelled, onCancel).then(
          (out) => {
            if (call.cancelled) return;
            for (const o of out) call.write(o);
            call.end();
          },
          (err: unknown) => {
            log.error({ err }, 'gRPC ReceiveMessage failed');
            if (!call.cancelled) {
              call.write({ status: status('INTERNAL_SERVER_ERROR', err instanceof Error ? err.message : String(err)) });
              call.end();
            }
          },
        );
      },
      Telemetry: (call: grpc.ServerDuplexStream<any, unknown>) => handleTelemetry(ctx, call, this.checkers),
      PullMessage: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({ status: status(...UNSERVED['GetOffset']!) });
        call.end();
      },
    };
    for (const [method, [code, message]] of Object.entries(UNSERVED)) {
      impl[method] = (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: status(code, message) });
    }
    return impl;
  }

  /** Stops accepting calls and ends those in progress (bounded: forced after `graceMs`). */
  async close(graceMs = 1000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
