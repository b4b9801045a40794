// The RocketMQ 5 gRPC endpoint of one broker node (grpcListenPort): serves
// apache.rocketmq.v2.MessagingService through the broker's public context, as a protocol
// adapter beside the remoting server. Served: QueryRoute, QueryAssignment, Heartbeat,
// NotifyClientTermination, Telemetry (settings, transaction checks), SendMessage (also
// TRANSACTION messages), EndTransaction, ReceiveMessage, AckMessage, ChangeInvisibleDuration,
// ForwardMessageToDeadLetterQueue. Everything else answers UNSUPPORTED
// with a reason (docs/protocol.md, "gRPC"). With TLS material it serves TLS only; with an access
// check (the broker's ACL) every call is judged on its v5 signature before it runs.

import * as grpc from '@grpc/grpc-js';
import type { BrokerContext } from '../broker/broker-context.js';
import { needsOf, settingsNeeds, type AccessRefusal, type GrpcAccessCheck } from './grpc-access.js';
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

export interface GrpcEndpointOptions {
  /** PEM certificate chain and key: the endpoint then speaks TLS only. */
  tls?: { cert: Buffer; key: Buffer };
  /** The broker's ACL (aclEnable=true); undefined: every call runs unchecked. */
  access?: GrpcAccessCheck;
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
    private readonly access: GrpcAccessCheck | undefined,
  ) {
    this.consume = new SimpleConsumeService(ctx);
    this.checkers = new GrpcTransactionCheckers(ctx);
  }

  /** Binds `host:port` (0 picks a free port) and serves until close(). */
  static async start(ctx: BrokerContext, host: string, port: number, options: GrpcEndpointOptions = {}): Promise<GrpcEndpoint> {
    const def = messagingServiceDefinition();
    const server = new grpc.Server();
    // No client certificates asked for: v5 clients prove who they are with signed calls.
    const credentials = options.tls !== undefined ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false) : grpc.ServerCredentials.createInsecure();
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${port}`, credentials, (err, p) => (err ? reject(new GrpcEndpointError('ERR_GRPC_LISTEN', `the gRPC endpoint cannot listen on ${host}:${port}: ${err.message}; free the port or change grpcListenPort`)) : resolve(p)));
    });
    const endpoint = new GrpcEndpoint(ctx, server, bound, endpointsOf(host, bound), options.access);
    server.addService(def, endpoint.handlers());
    ctx.log.info({ grpcAddr: `${host}:${bound}`, tls: options.tls !== undefined, acl: options.access !== undefined }, 'gRPC endpoint listening');
    return endpoint;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const ctx = this.ctx;
    const log = ctx.log;
    // With ACL on, each call is judged before it runs: its signature, then what its request needs.
    const refusal = (call: grpc.ServerUnaryCall<any, any> | grpc.ServerWritableStream<any, any>, method: string): AccessRefusal | undefined =>
      this.access?.(call.metadata, call.getPeer(), method, needsOf(method, (call.request ?? {}) as Record<string, unknown>));
    const guarded = (method: string, work: (call: grpc.ServerUnaryCall<any, any>) => unknown): Unary => (call, cb) =>
      reply(cb, () => {
        const refused = refusal(call, method);
        return refused !== undefined ? { status: status(refused.code, refused.message) } : work(call);
      }, log, method);
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
        const refused = refusal(call, 'ReceiveMessage');
        if (refused !== undefined) {
          call.write({ status: status(refused.code, refused.message) });
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
      Telemetry: (call: grpc.ServerDuplexStream<any, unknown>) => {
        const access = this.access;
        // The stream's own signature is checked when it opens; each settings command it carries
        // needs what the client announces (topics it publishes to, its group and topics).
        // Its headers were signed when it opened, so later commands are judged as of then.
        const openedAtMs = ctx.nowMs();
        const authorize = access === undefined ? undefined : (settings: Parameters<typeof settingsNeeds>[0]) => access(call.metadata, call.getPeer(), 'Telemetry', settingsNeeds(settings), openedAtMs);
        const refused = authorize?.({});
        if (refused !== undefined) {
          call.write({ status: status(refused.code, refused.message) });
          call.end();
          return;
        }
        handleTelemetry(ctx, call, this.checkers, authorize);
      },
      PullMessage: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({ status: status(...UNSERVED['GetOffset']!) });
        call.end();
      },
    };
    for (const [method, [code, message]] of Object.entries(UNSERVED)) impl[method] = guarded(method, () => ({ status: status(code, message) }));
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
