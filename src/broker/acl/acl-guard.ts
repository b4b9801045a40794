// Wraps a request handler with the ACL check: a refused request never reaches its processor and
// is answered NO_PERMISSION (16) with the checker's remark; each refusal is logged at warn with
// the remote address and the code, without any key material but the access key.
import type { Logger } from '../../common/logger.js';
import { makeResponse } from '../../protocol/remoting-command.js';
import type { RequestHandler } from '../../protocol/remoting-server.js';
import { ResponseCode } from '../../protocol/response-code.js';
import type { AclChecker } from './acl-checker.js';

export function guardedByAcl(acl: AclChecker, handle: RequestHandler, log: Logger): RequestHandler {
  return (req, channel) => {
    const verdict = acl.check(req, channel.remoteAddress);
    if (verdict.ok) return handle(req, channel);
    log.warn({ remote: channel.remoteAddress, code: req.code, remark: verdict.remark }, 'request refused by ACL');
    return makeResponse(req, ResponseCode.NO_PERMISSION, verdict.remark);
  };
}
