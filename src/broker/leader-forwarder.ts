// Followers relay writes (sends, offset updates) to the current leader with a RemotingClient and
// hand the leader's answer back unchanged except for the opaque. A hop counter in extFields stops
// a request from bouncing between nodes whose views of the leader disagree during an election.

import type { ConnectionOptions } from 'node:tls';
import { RemotingClient } from '../protocol/remoting-client.js';
import { makeResponse, type RemotingCommand } from '../protocol/remoting-command.js';
import { ResponseCode } from '../protocol/response-code.js';
import type { Logger } from '../common/logger.js';
import { BrokerError, noLeader } from './broker-errors.js';

export const FORWARD_HOPS_FIELD = 'rmqForwardHops';
const FORWARD_TIMEOUT_MS = 6_000;

export class LeaderForwarder {
  private readonly client: RemotingClient;

  constructor(
    private readonly selfAddr: string,
    private readonly leaderAddr: () => string | undefined,
    log: Logger,
    private readonly timeoutMs = FORWARD_TIMEOUT_MS,
    /** TLS to the leader's client port, when the group serves TLS. */
    tls?: ConnectionOptions,
  ) {
    this.client = new RemotingClient({ logger: log.child({ component: 'leader-forwarder' }), ...(tls !== undefined ? { tls } : {}) });
  }

  async forward(req: RemotingCommand): Promise<RemotingCommand> {
    const addr = this.leaderAddr();
    if (addr === undefined || addr === this.selfAddr) throw noLeader();
    const hops = Number(req.extFields[FORWARD_HOPS_FIELD] ?? '0');
    if (hops >= 1) {
      throw new BrokerError('ERR_BROKER_NOT_LEADER', ResponseCode.SERVICE_NOT_AVAILABLE, 'forwarded to a node that is not the Raft leader (leadership is changing); retry');
    }
    // A fresh command object (invoke() assigns its own opaque). Bodies are views of decoder
    // buffers, so both directions copy them before they wait for a later write.
    const out: RemotingCommand = {
      code: req.code,
      language: req.language,
      version: req.version,
      opaque: 0,
      flag: 0,
      remark: req.remark,
      extFields: { ...req.extFields, [FORWARD_HOPS_FIELD]: String(hops + 1) },
      body: req.body ? Buffer.from(req.body) : undefined,
    };
    let resp: RemotingCommand;
    try {
      resp = await this.client.invoke(addr, out, this.timeoutMs);
    } catch (err) {
      const unknown = (err as { outcomeUnknown?: boolean }).outcomeUnknown !== false;
      throw new BrokerError(unknown ? 'ERR_BROKER_FORWARD_FAILED' : 'ERR_BROKER_FORWARD_NOT_SENT', ResponseCode.SERVICE_NOT_AVAILABLE,
        `forwarding to the Raft leader ${addr} failed: ${(err as Error).message}${unknown ? ' (outcome unknown)' : ''}; retry`, { cause: err });
    }
    return makeResponse(req, resp.code, resp.remark, resp.extFields, resp.body ? Buffer.from(resp.body) : undefined);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
