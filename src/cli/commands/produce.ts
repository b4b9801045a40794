// `rmq produce`: sync sends with a few in flight, for quick use and smoke tests. A mistake that
// every message would repeat (bad topic, oversize body, unknown topic, unreachable NameServer,
// a broker refusing the message) stops at once with one line; send failures that another attempt
// could fix are counted, reported, and make the exit status 1. Each failed send is told on stderr
// as it happens (the first few in full, then a running count), so a group refusing every write
// (a full disk) is visible at once instead of after the whole run.
import { credentialsOption, tlsOption } from '../credentials-option.js';
// With --transaction each message is a transaction (TransactionProducer): its local transaction
// ends as told, and with --check-wait the command stays up that long answering the broker's
// checks with --check-answer (an `unknown` transaction is then decided by the check).
import { Command } from 'commander';
import { BrokerUnreachableError, isOutcomeUnknown, Producer, SendFailedError, SendTimeoutError, TransactionProducer, type LocalTransactionState, type SendResult } from '../../client/index.js';
import { namesrvAddrOf } from '../namesrv-option.js';
import { conflicting, intInRange, oneOf, requireWith, secondsValue } from '../options.js';
import { printJson, printTable } from '../output.js';
import { action } from '../run-action.js';
import { sleep } from '../sleep.js';
import { createProgress } from '../../bench/progress.js';

interface ProduceOptions {
  accessKey?: string;
  secretKey?: string;
  tls?: boolean;
  tlsCa?: string;
  namesrvAddr?: string;
  topic: string;
  count: number;
  body?: string;
  size?: number;
  tags?: string;
  keys?: string;
  group: string;
  concurrency: number;
  retries: number;
  sendTimeout: number;
  json?: boolean;
  transaction?: TransactionOutcome;
  checkAnswer: TransactionOutcome;
  checkWait: number;
}

type TransactionOutcome = 'commit' | 'rollback' | 'unknown';
const OUTCOMES: readonly TransactionOutcome[] = ['commit', 'rollback', 'unknown'];
const LOCAL_STATE: Record<TransactionOutcome, LocalTransactionState> = { commit: 'COMMIT_MESSAGE', rollback: 'ROLLBACK_MESSAGE', unknown: 'UNKNOW' };

/** A plain producer, or with --transaction a transaction producer whose local transactions end as told. */
function producerFor(o: ProduceOptions, namesrvAddr: string): { producer: Producer; send: (msg: Parameters<Producer['send']>[0]) => Promise<SendResult & { localTransactionState?: LocalTransactionState }> } {
  const common = { namesrvAddr, ...credentialsOption(o), ...tlsOption(o), producerGroup: o.group, retryTimesWhenSendFailed: o.retries, sendMsgTimeoutMs: o.sendTimeout * 1000 };
  if (o.transaction === undefined) {
    const producer = new Producer(common);
    return { producer, send: (msg) => producer.send(msg) };
  }
  const local = LOCAL_STATE[o.transaction];
  const answer = LOCAL_STATE[o.checkAnswer];
  const producer = new TransactionProducer({ ...common, topics: [o.topic], listener: { executeLocalTransaction: () => local, checkLocalTransaction: () => answer } });
  return { producer, send: (msg) => producer.sendMessageInTransaction(msg) };
}

/** Results kept for --json and the table; the counts cover everything. */
const MAX_RESULTS_KEPT = 10_000;
const MAX_ERRORS_KEPT = 100;
const TABLE_ROWS_MAX = 20;
/** Failures printed one per line as they happen; after these, a running count every FAILURE_COUNT_EVERY. */
const FAILURES_PRINTED_MAX = 10;
const FAILURE_COUNT_EVERY = 100;

/** The stderr line for the n-th failed send (1-based), if that one is told. */
function failureLine(n: number, index: number, err: Error & { code?: string }): string | undefined {
  if (n <= FAILURES_PRINTED_MAX) return `send #${index} failed (${err.code ?? 'ERR_CLI_UNKNOWN'}): ${err.message}\n`;
  if (n % FAILURE_COUNT_EVERY === 0) return `${n} sends failed so far; last (${err.code ?? 'ERR_CLI_UNKNOWN'}): ${err.message}\n`;
  return undefined;
}

interface Sent {
  index: number;
  result: SendResult & { localTransactionState?: LocalTransactionState };
  latencyMs: number;
}

interface Failed {
  index: number;
  code: string;
  outcomeUnknown: boolean;
  message: string;
}

function isTransient(err: unknown): boolean {
  return err instanceof SendFailedError || err instanceof SendTimeoutError || err instanceof BrokerUnreachableError;
}

function bodyOf(o: ProduceOptions, index: number): string | Buffer {
  if (o.size !== undefined) return Buffer.alloc(o.size, 0x78);
  if (o.body !== undefined) return o.body.replaceAll('{i}', String(index));
  return `Hello RocketMQ ${index}`;
}

export function registerProduceCommand(program: Command): void {
  const cmd = program
    .command('produce')
    .description('send messages (sync sends, several in flight) and print where each was stored')
    .option('-n, --namesrv-addr <addr>', 'NameServer host:port, several separated by ";" (default: $NAMESRV_ADDR)')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('--count <n>', 'messages to send', intInRange(1, 1_000_000), 1)
    .option('--body <text>', "message body; '{i}' is replaced by the message's index (default 'Hello RocketMQ <i>')")
    .option('--size <bytes>', 'send bodies of this many bytes instead of --body', intInRange(1, 64 * 1024 * 1024))
    .option('--tags <tag>', 'message tag')
    .option('--keys <keys>', 'message keys, space-separated (indexed: admin queryMsgByKey)')
    .option('-g, --group <group>', 'producer group', 'rmq-cli-producer')
    .option('--concurrency <n>', 'sends in flight at once', intInRange(1, 256), 8)
    // More than the SDK's default 2 retries: backing off 0.1, 0.2, 0.4, 0.8, 1.6 s rides out a leader election.
    .option('--retries <n>', 'retryTimesWhenSendFailed: extra attempts after a failed send', intInRange(0, 20), 5)
    .option('--send-timeout <s>', 'sendMsgTimeout: bound on one send with all its attempts', secondsValue(600), 10)
    .option('--json', 'print one JSON document')
    .option('--access-key <key>', 'ACL access key to sign requests with (default: $RMQ_ACCESS_KEY)')
    .option('--secret-key <key>', 'ACL secret key (default: $RMQ_SECRET_KEY)')
    .option('--tls', 'connect to the NameServer and brokers with TLS, trusting the system CAs (default: $RMQ_TLS; RMQ_NAMESRV_TLS=false: plain NameServer)')
    .option('--tls-ca <file>', 'connect to the NameServer and brokers with TLS, trusting this CA (PEM; default: $RMQ_TLS_CA)')
    .option('--transaction <outcome>', 'send each message as a transaction whose local transaction ends commit, rollback or unknown', oneOf(OUTCOMES))
    .option('--check-answer <outcome>', "with --transaction: this process's answer to the broker's transaction checks", oneOf(OUTCOMES), 'commit')
    .option('--check-wait <s>', 'with --transaction: stay up this long after the sends to answer checks (a check comes transactionTimeOut, 6 s, after a send at the earliest, at the next run every transactionCheckInterval, 30 s)', secondsValue(3600), 0)
    .action(
      action<ProduceOptions>(async (o, command) => {
        requireWith(command, 'checkWait', '--check-wait', '--transaction', o.transaction !== undefined);
        requireWith(command, 'checkAnswer', '--check-answer', '--transaction', o.transaction !== undefined);
        const { producer, send } = producerFor(o, namesrvAddrOf(o.namesrvAddr));
        await producer.start();
        const sent: Sent[] = [];
        const failed: Failed[] = [];
        let okCount = 0;
        let failCount = 0;
        let next = 0;
        let fatal: unknown;
        const started = performance.now();
        // On a terminal: a progress line (count, rate, errors) on stderr, as rmq bench draws.
        const progress = createProgress(o.json !== true && o.count > 1);
        progress.start(`producing to ${o.topic}`, o.count);
        const worker = async (): Promise<void> => {
          // Each round takes one index; the loop ends after `count` indexes or the first fatal error.
          while (fatal === undefined && next < o.count) {
            const index = next++;
            const t0 = performance.now();
            try {
              const keys = o.keys?.split(/\s+/).filter((k) => k !== '');
              const result = await send({ topic: o.topic, body: bodyOf(o, index), ...(o.tags === undefined ? {} : { tags: o.tags }), ...(keys === undefined ? {} : { keys }) });
              okCount++;
              progress.update(okCount + failCount, failCount);
              if (sent.length < MAX_RESULTS_KEPT) sent.push({ index, result, latencyMs: performance.now() - t0 });
            } catch (err) {
              if (!isTransient(err)) {
                fatal ??= err;
                return;
              }
              failCount++;
              progress.update(okCount + failCount, failCount);
              const e = err as Error & { code?: string };
              const line = failureLine(failCount, index, e);
              if (line !== undefined) process.stderr.write(line);
              if (failed.length < MAX_ERRORS_KEPT) failed.push({ index, code: e.code ?? 'ERR_CLI_UNKNOWN', outcomeUnknown: isOutcomeUnknown(err), message: e.message });
            }
          }
        };
        try {
          await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker));
          if (fatal === undefined && o.checkWait > 0) await sleep(o.checkWait * 1000);
        } finally {
          progress.finish();
          await producer.shutdown();
        }
        if (fatal !== undefined) throw fatal;
        const elapsedMs = performance.now() - started;
        sent.sort((a, b) => a.index - b.index);
        if (o.json === true) {
          printJson({
            topic: o.topic,
            sent: okCount,
            failed: failCount,
            elapsedMs: Math.round(elapsedMs),
            results: sent.map((s) => ({ index: s.index, ...s.result, latencyMs: Math.round(s.latencyMs * 100) / 100 })),
            errors: failed,
          });
        } else {
          if (okCount <= TABLE_ROWS_MAX) {
            const tx = o.transaction !== undefined;
            printTable(['#', 'status', 'msgId', 'offsetMsgId', 'group', 'queue', 'offset', ...(tx ? ['local transaction'] : [])], sent.map((s) => [s.index, s.result.status, s.result.msgId, s.result.offsetMsgId, s.result.brokerName, s.result.queueId, s.result.queueOffset, ...(tx ? [s.result.localTransactionState ?? ''] : [])]));
          }
          const rate = elapsedMs > 0 ? Math.round((okCount * 1000) / elapsedMs) : okCount;
          process.stdout.write(`sent ${okCount} of ${o.count} messages to ${o.topic} in ${Math.round(elapsedMs)} ms (${rate} msgs/s)${failCount > 0 ? `; ${failCount} failed` : ''}\n`);
        }
        if (failCount > 0) {
          process.stderr.write(`error: ${failCount} send(s) failed; first: ${failed[0]?.message ?? 'unknown'}\n`);
          return 1;
        }
        return 0;
      }),
    );
  conflicting(cmd, 'size', 'body');
}
