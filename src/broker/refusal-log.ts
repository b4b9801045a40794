// One structured log line per refused request, for operators to alert on, without flooding: a
// burst of the same refusal (every send during a failover) logs once per interval, with how many
// were folded into it.
import type { Logger } from '../common/logger.js';
import { isRefusal, requestCodeName, responseCodeName } from '../protocol/code-names.js';
import { responseCodeOfError, type RequestHandler } from '../protocol/remoting-server.js';

/** The same (request, response code) pair logs at most once per this interval. */
export const REFUSAL_LOG_INTERVAL_MS = 10_000;

export class RefusalLog {
  /** "request/code" → when it last logged and how many were folded in since. */
  private readonly last = new Map<string, { atMs: number; folded: number }>();

  constructor(private readonly log: Logger, private readonly nowMs: () => number = Date.now) {}

  /** Logs one refusal, or folds it into the next line of its kind. */
  note(requestCode: number, responseCode: number, remark: string | undefined, remote: string): void {
    const request = requestCodeName(requestCode);
    const code = responseCodeName(responseCode);
    const key = `${request}/${code}`;
    const now = this.nowMs();
    const seen = this.last.get(key);
    if (seen !== undefined && now - seen.atMs < REFUSAL_LOG_INTERVAL_MS) {
      seen.folded++;
      return;
    }
    this.last.set(key, { atMs: now, folded: 0 });
    this.log.warn({ event: 'request-refused', request, code, remark, remote, foldedSinceLast: seen?.folded ?? 0 }, 'request refused');
  }

  /** Wraps a handler so that each refusal it answers is noted. */
  wrap(handle: RequestHandler): RequestHandler {
    return async (req, channel) => {
      let resp;
      try {
        resp = await handle(req, channel);
      } catch (err) {
        // The server answers a thrown error itself (and logs it); here it is one more refusal.
        this.note(req.code, responseCodeOfError(err), err instanceof Error ? err.message : String(err), channel.remoteAddress);
        throw err;
      }
      if (resp !== undefined && isRefusal(resp.code)) this.note(req.code, resp.code, resp.remark, channel.remoteAddress);
      return resp;
    };
  }
}
