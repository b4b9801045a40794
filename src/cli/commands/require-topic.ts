// A topic named on the command line must exist: with auto-create on, routes would otherwise make
// a misspelled topic look like an empty real one.
import type { Admin } from '../../client/index.js';
import { CliError } from '../cli-errors.js';

/**
 * With autoCreateTopicEnable on, the NameServer offers a route for any name (the first send
 * creates the topic), so a misspelled topic would read as an empty real one: a topic no broker
 * has created is refused here, naming the known ones. Retry topics (%RETRY%...) always exist.
 */
export async function requireTopic(admin: Admin, topic: string): Promise<void> {
  if (topic.startsWith('%')) return;
  const topics = await admin.listTopics();
  if (topics.includes(topic)) return;
  const known = topics.filter((t) => !t.startsWith('%') && t !== 'TBW102').sort();
  const shown = known.length === 0 ? 'none yet' : known.length <= 10 ? known.join(', ') : `${known.slice(0, 10).join(', ')} and ${known.length - 10} more ('rmq admin topicList')`;
  throw new CliError(`topic '${topic}' does not exist: no broker has created it (a first send creates it when autoCreateTopicEnable is on, or 'rmq admin updateTopic -t ${topic}'); known topics: ${shown}`, 'ERR_CLI_NO_SUCH_TOPIC');
}
