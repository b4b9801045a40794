// Transactional (half) messages are not supported yet: a prepared message is stored without a
// queue slot and waits for an END_TRANSACTION this broker does not serve, so it would never
// become visible although the producer heard SEND_OK. Sends marked as transactional are refused
// up front, the way RocketMQ refuses them on a broker with `rejectTransactionMessage=true`
// (16 NO_PERMISSION), with a remark that says what to do instead.

import { getProperty, MessageProperty, SysFlag } from '../../store/index.js';

const TRANSACTION_TYPE_MASK = 0xc;
const MARKER = `${MessageProperty.TRANSACTION_PREPARED}\x01`;

/**
 * Why a send with this sysFlag and these properties is refused, or undefined when it is a plain
 * message. Prepared and rolled-back records never reach a ConsumeQueue; the TRAN_MSG property is
 * what transactional producers set next to the prepared flag.
 */
export function transactionRefusal(sysFlag: number, properties: string): string | undefined {
  const type = sysFlag & TRANSACTION_TYPE_MASK;
  const marked = properties.includes(MARKER) && getProperty(properties, MessageProperty.TRANSACTION_PREPARED) === 'true';
  if (type !== SysFlag.TRANSACTION_PREPARED && type !== SysFlag.TRANSACTION_ROLLBACK && !marked) return undefined;
  return 'sending transaction (half) messages is forbidden: this broker does not support transactions yet, so the message would never become visible; send it as a normal message';
}
