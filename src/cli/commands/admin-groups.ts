// `rmq admin` commands for topic deletion, subscription groups and consumers, with mqadmin's
// names and flags: deleteTopic, updateSubGroup, deleteSubGroup, resetOffsetByTime,
// consumerProgress (GET_CONSUME_STATS from the brokers) and consumerStatus (each consumer's own
// report, GET_CONSUMER_RUNNING_INFO relayed by the broker).
import type { Command } from 'commander';
import type { Admin } from '../../client/index.js';
import { CliError } from '../cli-errors.js';
import { intInRange } from '../options.js';
import { clip, printJson, printTable } from '../output.js';
import { action } from '../run-action.js';
import { requireTopic } from './require-topic.js';

interface Common {
  namesrvAddr?: string;
  json?: boolean;
}

type Sub = (parent: Command, name: string, description: string) => Command;
type WithAdmin = <T>(o: Common, fn: (admin: Admin) => Promise<T>) => Promise<T>;

function bool(flag: string, value: string): boolean {
  if (value !== 'true' && value !== 'false') throw new CliError(`${flag} expects true or false, got '${value}'`);
  return value === 'true';
}

/** mqadmin's -s forms: ms since the epoch, "now", or yyyy-MM-dd#HH:mm:ss:SSS (local time). */
export function parseResetTime(value: string, nowMs: number, flag = '-s'): number {
  if (value === 'now') return nowMs;
  if (/^-?\d+$/.test(value)) {
    const n = Number(value);
    if (n < -1) throw new CliError(`${flag} ${value} is not a time: use ms since the epoch, -1 (end of each queue), "now" or yyyy-MM-dd#HH:mm:ss:SSS`);
    return n;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})#(\d{2}):(\d{2}):(\d{2}):(\d{3})$/.exec(value);
  if (m === null) throw new CliError(`${flag} '${clip(value, 40)}' is not a time: use ms since the epoch, -1, "now" or yyyy-MM-dd#HH:mm:ss:SSS`);
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as [number, number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

export function registerGroupAdminCommands(admin: Command, sub: Sub, withAdmin: WithAdmin): void {
  sub(admin, 'deleteTopic', 'delete a topic on the master of every group (or of one cluster), then on every NameServer')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .action(
      action<Common & { topic: string; clusterName?: string }>(async (o) => {
        const addrs = await withAdmin(o, (a) => a.deleteTopic(o.topic, o.clusterName));
        if (o.json === true) return printJson({ topic: o.topic, brokers: addrs });
        process.stdout.write(`topic ${o.topic} deleted on ${addrs.join(', ')} and on the NameServer\n`);
      }),
    );

  sub(admin, 'updateSubGroup', 'create or update a subscription group on the master of every group')
    .requiredOption('-g, --group-name <group>', 'consumer group')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .option('-s, --consume-enable <bool>', 'whether the group may consume (true/false)', 'true')
    .option('-r, --retry-queue-nums <n>', 'retry queues', intInRange(0, 64), 1)
    .option('-q, --retry-max-times <n>', 'redeliveries before the DLQ', intInRange(0, 64), 16)
    .option('-o, --consume-message-orderly <bool>', 'orderly group: RocketMQ 5 PushConsumers consume it FIFO (true/false)', 'false')
    .action(
      action<Common & { groupName: string; clusterName?: string; consumeEnable: string; retryQueueNums: number; retryMaxTimes: number; consumeMessageOrderly: string }>(async (o) => {
        const settings = { groupName: o.groupName, consumeEnable: bool('-s', o.consumeEnable), retryQueueNums: o.retryQueueNums, retryMaxTimes: o.retryMaxTimes, consumeMessageOrderly: bool('-o', o.consumeMessageOrderly) };
        const addrs = await withAdmin(o, (a) => a.updateSubscriptionGroup(settings, o.clusterName));
        if (o.json === true) return printJson({ ...settings, brokers: addrs });
        process.stdout.write(`subscription group ${o.groupName} created/updated on ${addrs.join(', ')}\n`);
      }),
    );

  sub(admin, 'deleteSubGroup', 'delete a subscription group on the master of every group')
    .requiredOption('-g, --group-name <group>', 'consumer group')
    .option('-c, --cluster-name <name>', 'only the groups of this cluster')
    .option('-r, --remove-offset <bool>', "also delete the group's consumer offsets (true/false)", 'false')
    .action(
      action<Common & { groupName: string; clusterName?: string; removeOffset: string }>(async (o) => {
        const cleanOffset = bool('-r', o.removeOffset);
        const done = await withAdmin(o, (a) => a.deleteSubscriptionGroup(o.groupName, { cleanOffset, ...(o.clusterName === undefined ? {} : { clusterName: o.clusterName }) }));
        if (o.json === true) return printJson({ groupName: o.groupName, cleanOffset, brokers: done });
        for (const d of done) process.stdout.write(`${d.addr}: subscription group ${o.groupName} deleted${d.remark === '' ? '' : ` (${d.remark})`}\n`);
      }),
    );

  sub(admin, 'resetOffsetByTime', "move a consumer group's offsets of a topic to a point in time (on the brokers; running consumers of our SDK follow)")
    .requiredOption('-g, --group <group>', 'consumer group')
    .requiredOption('-t, --topic <topic>', 'topic name')
    .requiredOption('-s, --timestamp <time>', 'ms since the epoch, -1 (end of each queue), "now", or yyyy-MM-dd#HH:mm:ss:SSS')
    .option('-f, --force <bool>', 'also move offsets forward (false: only offsets past the time move back)', 'true')
    .action(
      action<Common & { group: string; topic: string; timestamp: string; force: string }>(async (o) => {
        const timestampMs = parseResetTime(o.timestamp, Date.now());
        const rows = await withAdmin(o, (a) => a.resetOffsetByTime(o.group, o.topic, timestampMs, bool('-f', o.force)));
        if (o.json === true) return printJson({ group: o.group, topic: o.topic, timestampMs, queues: rows });
        printTable(['group', 'queue', 'offset'], rows.map((r) => [r.brokerName, r.queueId, r.offset]));
      }),
    );

  sub(admin, 'consumerProgress', "a consumer group's committed offset against each queue's max offset, as the brokers hold them")
    .requiredOption('-g, --group <group>', 'consumer group')
    .option('-t, --topic <topic>', 'only this topic (default: every topic where the group holds an offset)')
    .action(
      action<Common & { group: string; topic?: string }>(async (o) => {
        const rows = await withAdmin(o, async (a) => {
          if (o.topic !== undefined) await requireTopic(a, o.topic);
          return a.consumerProgress(o.group, o.topic);
        });
        const diffTotal = rows.reduce((s, r) => s + r.diff, 0);
        if (o.json === true) return printJson({ group: o.group, diffTotal, queues: rows });
        printTable(['topic', 'group', 'queue', 'broker offset', 'consumer offset', 'diff', 'last consumed'], rows.map((r) => [r.topic, r.brokerName, r.queueId, r.brokerOffset, r.consumerOffset, r.diff, r.lastTimestamp > 0 ? new Date(r.lastTimestamp).toISOString() : '-']));
        process.stdout.write(rows.length === 0 ? `group ${o.group} holds no offset${o.topic === undefined ? ' on any topic' : ` on ${o.topic}`}\n` : `diff total: ${diffTotal}\n`);
      }),
    );

  sub(admin, 'consumerStatus', 'what each online consumer of a group reports: subscriptions, queues, positions (GET_CONSUMER_RUNNING_INFO)')
    .requiredOption('-g, --group <group>', 'consumer group')
    .option('-i, --client-id <id>', 'only this client')
    .action(
      action<Common & { group: string; clientId?: string }>(async (o) => {
        const all = await withAdmin(o, (a) => a.consumerStatus(o.group, o.clientId));
        if (o.json === true) return printJson({ group: o.group, consumers: all });
        if (all.length === 0) throw new CliError(`no consumer of group ${o.group} is online`, 'ERR_CLI_NO_CONSUMER');
        for (const c of all) {
          if (c.info === undefined) {
            process.stdout.write(`${c.clientId}: ${c.error ?? 'no answer'}\n`);
            continue;
          }
          process.stdout.write(`${c.clientId}: ${Object.entries(c.info.properties).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
          printTable(['topic', 'group', 'queue', 'next offset', 'in flight', 'locked'], c.info.mqTable.map((q) => [q.topic, q.brokerName, q.queueId, q.nextOffset, q.inflight, q.locked === undefined ? '-' : String(q.locked)]));
        }
        const failed = all.filter((c) => c.info === undefined);
        if (failed.length > 0) throw new CliError(`${failed.length} of ${all.length} consumers did not report: ${failed.map((c) => `${c.clientId}: ${c.error}`).join('; ')}`, 'ERR_CLI_NODE_FAILED');
      }),
    );
}
