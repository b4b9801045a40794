// The REGISTER_BROKER body this NameServer accepts (JSON):
//   {"topicConfigTable": {"<topic>": {topicName, readQueueNums, writeQueueNums, perm, topicSysFlag, order?}},
//    "autoCreateTopicEnable": true, "defaultTopicQueueNums": 8}
// Apache's uncompressed form {"topicConfigSerializeWrapper": {"topicConfigTable": {...}}} is read too.
// Each field is checked, because a bad table would hand clients queues that do not exist. A topic
// whose name breaks the rules is left out (and reported in `skippedTopics` for the log) rather
// than refusing the whole registration: one bad name must not take every route of the broker
// away.
import { isValidTopicName } from '../common/names.js';
import { BadRequestBodyError } from '../protocol/protocol-errors.js';
import { decodeJsonBody, PERM_READ_WRITE, type TopicConfig } from '../protocol/route-data.js';
import { DEFAULT_TOPIC_QUEUE_NUMS } from './route-info-manager.js';

export const MAX_TOPICS_PER_REGISTRATION = 100_000;
const QUEUE_NUMS_MAX = 1024;

export interface RegisterBrokerBody {
  topicConfigs: TopicConfig[] | undefined;
  /** Names of topics left out because they break the topic-name rule (at most 10 kept). */
  skippedTopics: string[];
  skippedTopicCount: number;
  autoCreateTopicEnable: boolean;
  defaultTopicQueueNums: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intIn(raw: unknown, what: string, min: number, max: number, fallback?: number): number {
  if (raw === undefined && fallback !== undefined) return fallback;
  const n = typeof raw === 'string' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new BadRequestBodyError(`register body: ${what} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The topic's config, or undefined when its name breaks the rule (the caller skips it). */
function parseTopicConfig(key: string, raw: unknown): TopicConfig | undefined {
  if (!isObject(raw)) throw new BadRequestBodyError(`register body: topic '${key.slice(0, 200)}' is not an object`);
  const topicName = raw['topicName'] ?? key;
  if (!isValidTopicName(topicName)) return undefined;
  return {
    topicName,
    readQueueNums: intIn(raw['readQueueNums'], `${topicName}.readQueueNums`, 0, QUEUE_NUMS_MAX),
    writeQueueNums: intIn(raw['writeQueueNums'], `${topicName}.writeQueueNums`, 0, QUEUE_NUMS_MAX),
    perm: intIn(raw['perm'], `${topicName}.perm`, 0, 7, PERM_READ_WRITE),
    topicSysFlag: intIn(raw['topicSysFlag'], `${topicName}.topicSysFlag`, 0, 0x7fffffff, 0),
    ...(raw['order'] === true ? { order: true } : {}),
  };
}

/** An absent body means "no topic table and no auto-create". */
export function parseRegisterBrokerBody(body: Buffer | undefined): RegisterBrokerBody {
  if (body === undefined || body.length === 0) {
    return { topicConfigs: undefined, skippedTopics: [], skippedTopicCount: 0, autoCreateTopicEnable: false, defaultTopicQueueNums: DEFAULT_TOPIC_QUEUE_NUMS };
  }
  const parsed = decodeJsonBody<unknown>(body, 'register body');
  if (!isObject(parsed)) throw new BadRequestBodyError('register body is not a JSON object');
  const wrapper = parsed['topicConfigSerializeWrapper'];
  const table = isObject(wrapper) ? wrapper['topicConfigTable'] : parsed['topicConfigTable'];
  let topicConfigs: TopicConfig[] | undefined;
  const skippedTopics: string[] = [];
  let skippedTopicCount = 0;
  if (table !== undefined && table !== null) {
    if (!isObject(table)) throw new BadRequestBodyError('register body: topicConfigTable is not an object');
    const keys = Object.keys(table);
    if (keys.length > MAX_TOPICS_PER_REGISTRATION) {
      throw new BadRequestBodyError(`register body lists ${keys.length} topics; at most ${MAX_TOPICS_PER_REGISTRATION} are accepted`);
    }
    topicConfigs = [];
    for (const key of keys) {
      const config = parseTopicConfig(key, table[key]);
      if (config !== undefined) topicConfigs.push(config);
      else if (skippedTopics.push(String((table[key] as Record<string, unknown>)['topicName'] ?? key).slice(0, 200)) > 10) skippedTopics.pop();
    }
    skippedTopicCount = keys.length - topicConfigs.length;
  }
  const auto = parsed['autoCreateTopicEnable'];
  if (auto !== undefined && typeof auto !== 'boolean') throw new BadRequestBodyError('register body: autoCreateTopicEnable must be a boolean');
  return {
    topicConfigs,
    skippedTopics,
    skippedTopicCount,
    autoCreateTopicEnable: auto === true,
    defaultTopicQueueNums: intIn(parsed['defaultTopicQueueNums'], 'defaultTopicQueueNums', 1, QUEUE_NUMS_MAX, DEFAULT_TOPIC_QUEUE_NUMS),
  };
}
