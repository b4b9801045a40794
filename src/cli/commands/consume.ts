// `rmq consume`: reads a topic for a consumer group with explicit offsets (a pull consumer, as
// mqadmin's consumeMessage does), so it takes exactly --count messages and commits exactly what
// it printed. It starts where the group's committed offset is (or --from first|last when the
// group has none) and ends at --count, at --timeout, or on Ctrl-C, committing on the way out.
import { credentialsOption, tlsOption } from '../credentials-option.js';
import { Command } from 'commander';
import { BrokerResponseError, BrokerUnreachableError, buildSelectorSubscription, PullConsumer, type MessageExt, type MessageQueue, type SubscriptionSelector } from '../../client/index.js';
import { ResponseCode } from '../../protocol/index.js';
import { CliError } from '../cli-errors.js';
import { namesrvAddrOf } from '../namesrv-option.js';
import { conflicting, intInRange, oneOf, secondsValue } from '../options.js';
import { bodyForDisplay, clip, printJson } from '../output.js';
import { action } from '../run-action.js';
import { createProgress } from '../../bench/progress.js';
import { sleep } from '../sleep.js';
import { messageJson } from './admin.js';

interface ConsumeOptions {
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  tlsCa?: string;
  namesrvAddr?: string;
  topic: string;
  group: string;
  count?: number;
  timeout?: number;
  from: 'first' | 'last';
  tags: string;
  sql?: string;
  json?: boolean;
}

/** How long one pull waits on the broker for new messages. */
const LONG_POLL_MS = 1000;
/** Messages kept for --json when no --count bounds them. */
const MAX_MESSAGES_KEPT = 10_000;
const COMMIT_INTERVAL_MS = 5000;
const PULL_ERROR_BACKOFF_MS = 500;

interface QueueCursor {
  mq: MessageQueue;
  offset: number;
  committed: number;
}

function line(m: MessageExt): string {
  const b = bodyForDisplay(m.body);
  return `${m.brokerName} queue=${m.queueId} offset=${m.queueOffset} msgId=${m.msgId}${m.tags ? ` tags=${m.tags}` : ''}${m.keys.length > 0 ? ` keys=${m.keys.join(',')}` : ''} body=${b.bodyEncoding === 'utf8' ? clip(b.body, 120) : `(base64)${clip(b.body, 120)}`}\n`;
}

export function registerConsumeCommand(program: Command): void {
  const cmd = program
    .command('consume')
    .description("read messages of a topic as a consumer group, committing the group's offsets")
    .option('-n, --namesrv-addr <addr>', 'NameServer host:port, several separated by ";" (default: $NAMESRV_ADDR)')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .requiredOption('-g, --group <group>', 'consumer group')
    .option('--count <n>', 'stop after this many messages (exit 1 if fewer arrive before --timeout)', intInRange(1, 1_000_000))
    .option('--timeout <s>', 'stop after this many seconds (default: 30 with --count, else run until Ctrl-C)', secondsValue(86_400))
    .option('--from <where>', 'where a group without a committed offset starts: first or last', oneOf(['first', 'last'] as const), 'first')
    .option('--tags <expr>', "tag expression: '*' or 'TagA || TagB'", '*')
    .option('--sql <expr>', "SQL92 property filter, e.g. \"a > 5 AND TAGS IN ('TagA')\" (brokers need enablePropertyFilter=true)")
    .option('--json', 'print one JSON document at the end instead of a line per message')
    .option('--access-key <key>', 'ACL access key to sign requests with (default: $RMQ_ACCESS_KEY)')
    .option('--secret-key <key>', 'ACL secret key (default: $RMQ_SECRET_KEY)')
    .option('--tls', 'connect to the NameServer and brokers with TLS, trusting the system CAs (default: $RMQ_TLS; RMQ_NAMESRV_TLS=false: plain NameServer)')
    .option('--tls-ca <file>', 'connect to the NameServer and brokers with TLS, trusting this CA (PEM; default: $RMQ_TLS_CA)')
    .action(
      action<ConsumeOptions>(async (o) => {
        const timeoutS = o.timeout ?? (o.count !== undefined ? 30 : undefined);
        const selector: SubscriptionSelector = o.sql !== undefined ? { type: 'SQL92', expression: o.sql } : o.tags;
        // A bad expression is reported before anything is pulled.
        buildSelectorSubscription(o.topic, selector, 0);
        const consumer = new PullConsumer({ namesrvAddr: namesrvAddrOf(o.namesrvAddr), ...credentialsOption(o), ...tlsOption(o), consumerGroup: o.group });
        await consumer.start();
        const kept: MessageExt[] = [];
        let received = 0;
        let stop = false;
        const onSignal = (): void => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const deadline = timeoutS === undefined ? Infinity : Date.now() + timeoutS * 1000;
        const done = (): boolean => stop || (o.count !== undefined && received >= o.count) || Date.now() >= deadline;
        let cursors: QueueCursor[] = [];
        try {
          const queues = await consumer.fetchQueues(o.topic);
          if (queues.length === 0) throw new CliError(`topic ${o.topic} has no readable queue; check its perm with 'rmq admin topicRoute -t ${o.topic}'`);
          cursors = await Promise.all(
            queues.map(async (mq) => {
              // --from last must learn that the group has no offset: by default the broker says 0.
              let offset = await consumer.queryOffset(mq, { setZeroIfNotFound: o.from !== 'last' });
              if (offset < 0) offset = o.from === 'first' ? await consumer.minOffset(mq) : await consumer.maxOffset(mq);
              return { mq, offset, committed: offset };
            }),
          );
          const commitOnce = async (): Promise<void> => {
            await Promise.all(
              cursors
                .filter((c) => c.offset !== c.committed)
                .map(async (c) => {
                  const offset = c.offset;
                  await consumer.commitOffset(c.mq, offset);
                  c.committed = offset;
                }),
            );
          };
          // After a leader change the cached master address is stale: refresh the route and retry.
          const commit = async (): Promise<void> => {
            try {
              await commitOnce();
            } catch {
              await consumer.fetchQueues(o.topic).catch(() => undefined);
              await commitOnce();
            }
          };
          let pullErrors = 0;
          const loop = async (c: QueueCursor): Promise<void> => {
            let warned = false;
            // Ends when done(): a count, the deadline or a signal; every round is one bounded pull.
            while (!done()) {
              try {
                const waitMs = Math.max(0, Math.min(LONG_POLL_MS, deadline - Date.now()));
                const r = await consumer.pull(c.mq, c.offset, 32, { selector, suspendTimeoutMs: waitMs });
                if (done()) return;
                let taken = 0;
                for (const m of r.messages) {
                  if (o.count !== undefined && received >= o.count) break;
                  received++;
                  taken++;
                  c.offset = m.queueOffset + 1;
                  if (o.json === true) {
                    if (kept.length < MAX_MESSAGES_KEPT) kept.push(m);
                  } else process.stdout.write(line(m));
                }
                // All taken (or filtered out by tag): continue after the whole pulled range.
                if (taken === r.messages.length && r.nextBeginOffset > c.offset) c.offset = r.nextBeginOffset;
              } catch (err) {
                if (!(err instanceof BrokerUnreachableError || err instanceof BrokerResponseError)) throw err;
                // A refused subscription stays refused: stop instead of retrying until the timeout.
                if (err instanceof BrokerResponseError && err.brokerCode === ResponseCode.SUBSCRIPTION_PARSE_FAILED) throw new CliError(`the broker refuses the subscription: ${err.remark ?? 'no reason given'}`);
                // Most likely a leader change: look the route up again, then retry (until done()).
                pullErrors++;
                if (!warned) {
                  warned = true;
                  process.stderr.write(`warning: pull from ${c.mq.brokerName} queue ${c.mq.queueId} failed (${(err as Error).message}); retrying\n`);
                }
                await sleep(PULL_ERROR_BACKOFF_MS);
                await consumer.fetchQueues(o.topic).catch(() => undefined);
              }
            }
          };
          let lastCommit = Date.now();
          // With --json nothing is printed until the end: on a terminal, a progress line meanwhile.
          const progress = createProgress(o.json === true);
          progress.start(`consuming ${o.topic}`, o.count ?? 0);
          const loops = cursors.map(loop);
          // Commit periodically while the loops run; settle with the first loop error, if any.
          const all = Promise.all(loops);
          let failure: unknown;
          all.catch((err: unknown) => {
            failure = err;
            stop = true;
          });
          while (!done() && failure === undefined) {
            await sleep(100);
            progress.update(received, pullErrors);
            if (Date.now() - lastCommit >= COMMIT_INTERVAL_MS) {
              lastCommit = Date.now();
              await commit().catch(() => undefined);
            }
          }
          progress.update(received, pullErrors);
          progress.finish();
          // Pulls still held on the broker end within LONG_POLL_MS; their results are not taken.
          await Promise.race([all.catch(() => undefined), sleep(LONG_POLL_MS + 500)]);
          if (failure !== undefined) throw failure;
          await commit();
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          await consumer.shutdown();
        }
        if (o.json === true) printJson({ topic: o.topic, group: o.group, consumed: received, messages: kept.map(messageJson) });
        else process.stderr.write(`consumed ${received} message(s) from ${o.topic} as ${o.group}\n`);
        if (o.count !== undefined && received < o.count) {
          process.stderr.write(`error: received ${received} of ${o.count} messages within ${timeoutS} s; produce more, or raise --timeout\n`);
          return 1;
        }
        return 0;
      }),
    );
  // --tags would be ignored under --sql: refused, naming both flags.
  conflicting(cmd, 'sql', 'tags');
}
