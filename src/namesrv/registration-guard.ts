// Who may change the routes: with registration keys configured, REGISTER_BROKER and
// UNREGISTER_BROKER must be signed like an ACL request (AccessKey naming the broker, Signature =
// HMAC-SHA1 of the fields and body with a key both sides hold). Without this any process that
// reaches the NameServer could claim brokerId 0 of a group with a huge Raft term and a made-up
// address (producers would then send there) or unregister the real brokers. Route reads stay
// open. Several keys may be configured: any verifies, so a key can be rotated without downtime.
import type { Logger } from '../common/logger.js';
import { ACL_ACCESS_KEY, ACL_SIGNATURE, verifyAclSignature } from '../protocol/acl-signature.js';
import { makeResponse } from '../protocol/remoting-command.js';
import type { RequestHandler } from '../protocol/remoting-server.js';
import { ResponseCode } from '../protocol/response-code.js';

export interface RegistrationGuardStats {
  refusedRegistrations: number;
}

export class RegistrationGuard {
  private refused = 0;

  constructor(
    private readonly keys: readonly string[],
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  stats(): RegistrationGuardStats {
    return { refusedRegistrations: this.refused };
  }

  /** `handle` when the guard is off; otherwise `handle` behind the signature check. */
  wrap(handle: RequestHandler): RequestHandler {
    if (!this.enabled) return handle;
    return (req, channel) => {
      const accessKey = req.extFields[ACL_ACCESS_KEY];
      const signature = req.extFields[ACL_SIGNATURE];
      let remark: string | undefined;
      if (typeof accessKey !== 'string' || typeof signature !== 'string') {
        remark = `request ${req.code} must be signed with the NameServer's registration key (set namesrvRegistrationKey in broker.conf)`;
      } else if (!this.keys.some((k) => verifyAclSignature(req, signature, k))) {
        remark = `the signature of request ${req.code} from ${accessKey} does not match the registration key (wrong namesrvRegistrationKey, or the request was altered)`;
      }
      if (remark === undefined) return handle(req, channel);
      this.refused++;
      this.log.warn({ remote: channel.remoteAddress, code: req.code, brokerName: req.extFields['brokerName'], brokerAddr: req.extFields['brokerAddr'], remark }, 'route change refused: not signed with the registration key');
      return makeResponse(req, ResponseCode.NO_PERMISSION, remark);
    };
  }
}
