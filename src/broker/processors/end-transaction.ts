// END_TRANSACTION (37): a producer's decision about a half message, one-way as RocketMQ clients
// send it (answered when a client asks for an answer). Header as RocketMQ's
// EndTransactionRequestHeader: producerGroup, tranStateTableOffset, commitLogOffset (the half
// message's physical offset, which identifies it), commitOrRollback (8 commit, 12 rollback,
// 0 unknown), fromTransactionCheck, msgId, transactionId. A follower relays it to the leader like
// every write; the transaction service decides each half message at most once.

import { headerBool, headerInt, headerOptString } from '../../protocol/headers.js';
import { isOneway, makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';
import { transactionServiceOf } from '../transaction/transaction-service.js';

async function endTransaction(ctx: BrokerContext, req: RemotingCommand): Promise<RemotingCommand> {
  const end = {
    producerGroup: headerOptString(req.extFields, 'producerGroup') ?? '',
    commitLogOffset: headerInt(req.extFields, 'commitLogOffset'),
    commitOrRollback: headerInt(req.extFields, 'commitOrRollback'),
    fromTransactionCheck: headerBool(req.extFields, 'fromTransactionCheck', false),
  };
  try {
    return await ctx.writeOrForward(req, async () => {
      const outcome = await transactionServiceOf(ctx).end(end);
      ctx.log.debug({ ...end, msgId: req.extFields['msgId'], result: outcome.result }, 'end transaction');
      return makeResponse(req, ResponseCode.SUCCESS, outcome.remark === '' ? undefined : outcome.remark, { result: outcome.result });
    });
  } catch (err) {
    // Nobody hears the answer to a one-way request: the refusal is logged here instead.
    if (isOneway(req)) ctx.log.warn({ err, ...end, msgId: req.extFields['msgId'] }, 'end transaction refused');
    throw err;
  }
}

export const endTransactionProcessor: BrokerProcessor = {
  name: 'end-transaction',
  codes: [RequestCode.END_TRANSACTION],
  handle: endTransaction,
};
