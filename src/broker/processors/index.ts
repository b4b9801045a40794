// The processor and service registry: the composition root registers every processor listed
// here with the remoting server (one file per processor, each exporting a BrokerProcessor) and
// starts every service. Adding a processor = one file + one line here.

import type { BrokerProcessor, BrokerServiceFactory } from '../broker-context.js';
import { scheduleServiceFactory } from '../schedule/schedule-service.js';
import { adminTopicGroupProcessor } from './admin-topic-group.js';
import { consumeStatsProcessor } from './consume-stats.js';
import { transactionServiceFactory } from '../transaction/transaction-service.js';
import { checkRelayFactory } from '../transaction/check-relay.js';
import { consumerListProcessor } from './consumer-list.js';
import { consumerRunningInfoProcessor } from './consumer-running-info.js';
import { consumerSendBackProcessor } from './consumer-send-back.js';
import { deleteExpiredCommitLogProcessor } from './delete-expired-commitlog.js';
import { endTransactionProcessor } from './end-transaction.js';
import { heartbeatProcessor } from './heartbeat.js';
import { getMaxOffsetProcessor } from './max-offset.js';
import { getMinOffsetProcessor } from './min-offset.js';
import { pullMessageProcessor } from './pull-message.js';
import { queryConsumerOffsetProcessor } from './query-consumer-offset.js';
import { queryMessageProcessor } from './query-message.js';
import { queueLockProcessor, queueLockServiceFactory } from './queue-lock.js';
import { raftAdminProcessor } from './raft-admin.js';
import { resetOffsetProcessor } from './reset-offset.js';
import { searchOffsetProcessor } from './search-offset.js';
import { sendBatchProcessor } from './send-batch.js';
import { sendMessageProcessor } from './send-message.js';
import { unregisterClientProcessor } from './unregister-client.js';
import { updateConsumerOffsetProcessor } from './update-consumer-offset.js';
import { updateTopicProcessor } from './update-topic.js';
import { viewMessageProcessor } from './view-message.js';

export const PROCESSORS: readonly BrokerProcessor[] = [
  sendMessageProcessor,
  sendBatchProcessor,
  pullMessageProcessor,
  queryConsumerOffsetProcessor,
  updateConsumerOffsetProcessor,
  getMaxOffsetProcessor,
  getMinOffsetProcessor,
  searchOffsetProcessor,
  heartbeatProcessor,
  unregisterClientProcessor,
  consumerListProcessor,
  consumerSendBackProcessor,
  viewMessageProcessor,
  queryMessageProcessor,
  updateTopicProcessor,
  raftAdminProcessor,
  deleteExpiredCommitLogProcessor,
  adminTopicGroupProcessor,
  resetOffsetProcessor,
  consumeStatsProcessor,
  consumerRunningInfoProcessor,
  queueLockProcessor,
  endTransactionProcessor,
];

export const SERVICES: readonly BrokerServiceFactory[] = [scheduleServiceFactory, queueLockServiceFactory, transactionServiceFactory, checkRelayFactory];
