// Transactional sends this broker refuses: a batch carrying half messages (as RocketMQ, a
// transaction is one message: send each with a TransactionProducer), and any send already marked
// rolled back (only the broker writes decisions, through END_TRANSACTION). Refused with
// 16 NO_PERMISSION and a remark that says what to do instead. Single half messages are served:
// see transaction/half-message.ts.

import { SysFlag } from '../../store/index.js';
import { isHalfSend } from '../transaction/half-message.js';

const TRANSACTION_TYPE_MASK = 0xc;

/** Why a single send with this sysFlag is refused, or undefined when it may be stored. */
export function transactionRefusal(sysFlag: number): string | undefined {
  if ((sysFlag & TRANSACTION_TYPE_MASK) !== SysFlag.TRANSACTION_ROLLBACK) return undefined;
  return 'sending a message marked rolled back (sysFlag transaction type 12) is forbidden: a transaction is decided with END_TRANSACTION; send a half message with a transaction producer, or send it as a normal message';
}

/** Why a batch (or one of its messages) with this sysFlag and these properties is refused, or undefined. */
export function batchTransactionRefusal(sysFlag: number, properties: string): string | undefined {
  if (!isHalfSend(sysFlag, properties) && (sysFlag & TRANSACTION_TYPE_MASK) !== SysFlag.TRANSACTION_ROLLBACK) return undefined;
  return 'a batch cannot carry transaction (half) messages: this broker is forbidden to store them in a batch; send each one with a transaction producer, or send it as a normal message';
}
