// The Telemetry stream (one per client and endpoint): the client announces its settings and
// waits for the server's answer before its startup completes. We answer with its settings as
// this broker applies them (body size limit, the message types queues accept, a retry policy).
// A producer's stream also carries the broker's transaction checks to it (transaction.ts). We
// never send other commands (thread stacks, message verification), so the replies it could send
// to them are ignored; anything else we cannot serve is logged and ignored too (answering a bare
// status would fail the client's startup).

import type * as grpc from '@grpc/grpc-js';
import type { BrokerContext } from '../broker/broker-context.js';
import { ok, toDuration, type Duration, type Endpoints, type Resource } from './proto.js';
import type { GrpcTransactionCheckers } from './transaction.js';
import { maxDeliveryAttempts } from './simple-consume.js';

interface RetryPolicy { maxAttempts?: number; exponentialBackoff?: { initial?: Duration; max?: Duration; multiplier?: number } | null; strategy?: string }

interface Settings {
  clientType?: string;
  accessPoint?: Endpoints | null;
  backoffPolicy?: RetryPolicy | null;
  requestTimeout?: Duration | null;
  pubSub?: string;
  publishing?: { topics?: unknown[]; maxBodySize?: number; validateMessageType?: boolean } | null;
  subscription?: Record<string, unknown> | null;
  userAgent?: unknown;
}

interface TelemetryCommand { command?: string; settings?: Settings | null; status?: unknown }

/** Attempts a client is told to make when it did not say (Apache's clients default to 3). */
const DEFAULT_MAX_ATTEMPTS = 3;

/** What a PushConsumer is told when it did not say: messages per receive, and how long one is held. */
const PUSH_RECEIVE_BATCH = 32;
const PUSH_LONG_POLLING_MS = 20_000;

/** The settings this broker answers for the ones a client announced. */
export function answerSettings(ctx: BrokerContext, s: Settings): Record<string, unknown> {
  const theirs = s.backoffPolicy;
  const sub = s.subscription;
  // Consumers: deliveries of one message = the group's retryMaxTimes + 1 (its first delivery).
  const groupName = (sub?.['group'] as { name?: string } | null | undefined)?.name;
  const consumerAttempts = sub ? maxDeliveryAttempts(ctx, groupName ?? '') : undefined;
  const maxAttempts = consumerAttempts ?? (theirs?.maxAttempts || DEFAULT_MAX_ATTEMPTS);
  // The Node and Java clients only accept an exponential backoff here.
  const backoffPolicy = theirs?.exponentialBackoff
    ? { maxAttempts, exponentialBackoff: theirs.exponentialBackoff }
    : { maxAttempts, exponentialBackoff: { initial: toDuration(1000), max: toDuration(10_000), multiplier: 2 } };
  const out: Record<string, unknown> = {
    clientType: s.clientType,
    accessPoint: s.accessPoint ?? undefined,
    backoffPolicy,
    requestTimeout: s.requestTimeout ?? toDuration(3000),
    userAgent: s.userAgent ?? undefined,
    metric: { on: false },
  };
  if (s.publishing) {
    out['publishing'] = { topics: s.publishing.topics ?? [], maxBodySize: ctx.config.maxMessageSize, validateMessageType: true };
  } else if (sub) {
    // A group configured for orderly consumption (consumeMessageOrderly, as mqadmin sets it) is
    // FIFO: the client then consumes a received batch one message at a time and retries a failed
    // one in place, while the server holds a message group's later messages back until the
    // earlier is acknowledged (invisibility.ts). Other groups consume concurrently.
    out['subscription'] = { ...sub, fifo: ctx.metadata.subscriptionGroup(groupName ?? '')?.consumeMessageOrderly === true, receiveBatchSize: sub['receiveBatchSize'] ?? PUSH_RECEIVE_BATCH, longPollingTimeout: sub['longPollingTimeout'] ?? toDuration(PUSH_LONG_POLLING_MS) };
  }
  return out;
}

/** The ACL's judgement of announced settings: undefined when allowed, else the refusal. */
export type SettingsAuthorizer = (settings: Settings) => { code: string; message: string } | undefined;

export function handleTelemetry(ctx: BrokerContext, call: grpc.ServerDuplexStream<TelemetryCommand, unknown>, checkers: GrpcTransactionCheckers, authorize?: SettingsAuthorizer): void {
  const clientId = call.metadata.get('x-mq-client-id')[0]?.toString() ?? '';
  call.on('data', (cmd: TelemetryCommand) => {
    if (cmd.command === 'settings' && cmd.settings) {
      // A bare status fails the client's startup with the refusal's message.
      const refused = authorize?.(cmd.settings);
      if (refused !== undefined) {
        call.write({ status: refused });
        call.end();
        return;
      }
      call.write({ status: ok(), settings: answerSettings(ctx, cmd.settings) });
      const topics = cmd.settings.publishing?.topics;
      if (Array.isArray(topics)) checkers.register(clientId, call as grpc.ServerDuplexStream<unknown, unknown>, topics as Resource[]);
      return;
    }
    ctx.log.debug({ clientId, command: cmd.command }, 'gRPC telemetry: ignoring a command this endpoint does not serve');
  });
  call.on('end', () => call.end());
  call.on('error', (err) => ctx.log.debug({ err, clientId }, 'gRPC telemetry stream failed'));
}
