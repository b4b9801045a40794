// Where a ConsumeQueue lives: <root>/consumequeue/<topic>/<queueId>/, its files named by their
// first byte offset (20 digits). Topic names become directory names, so they are encoded to
// keep a record in the log from making the store write outside its root.

import { join } from 'node:path';

export const CQ_FILE_NAME = /^\d{20}$/;

const PLAIN_TOPIC = /^[%|a-zA-Z0-9_.-]+$/;

/**
 * Topic names become directory names, so a name that is not a plain RocketMQ topic
 * ([%|a-zA-Z0-9_.-]) is hex-encoded behind a '=' prefix: a record in the log can never make the
 * store write outside its root.
 */
export function topicDirName(topic: string): string {
  return PLAIN_TOPIC.test(topic) && topic !== '.' && topic !== '..' && !topic.startsWith('=')
    ? topic
    : `=${Buffer.from(topic, 'utf8').toString('hex')}`;
}

export function topicFromDirName(name: string): string {
  return name.startsWith('=') ? Buffer.from(name.slice(1), 'hex').toString('utf8') : name;
}

export function consumeQueueDir(root: string, topic: string, queueId: number): string {
  return join(root, 'consumequeue', topicDirName(topic), String(queueId));
}

/** The file of a queue directory that starts at byte offset `startBytes`. */
export function consumeQueueFilePath(dir: string, startBytes: number): string {
  return join(dir, String(startBytes).padStart(20, '0'));
}
