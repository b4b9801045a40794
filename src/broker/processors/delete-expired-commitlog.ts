// DELETE_EXPIRED_COMMITLOG (329, mqadmin deleteExpiredCommitLog): retention's "delete expired
// segments now" on the node the request reaches. It is not relayed to the leader: every node runs
// its own retention over its own copy of the log, so a caller asks each node it wants cleaned.
// The bounds are those of the scheduled rule (CleanService.deleteExpiredNow): only segments older
// than fileReservedTime hours, never an entry not yet dispatched, never one a lagging follower
// still needs (minRetainIndex), never the segment holding the last entry. Answers SUCCESS with a
// remark saying what went and why the rest stayed, and the same facts as a JSON body.

import { makeResponse, type RemotingCommand } from '../../protocol/remoting-command.js';
import { RequestCode } from '../../protocol/request-code.js';
import { ResponseCode } from '../../protocol/response-code.js';
import { encodeJsonBody, type DeleteExpiredBody } from '../../protocol/route-data.js';
import type { CleanReport } from '../../store/index.js';
import type { BrokerContext, BrokerProcessor } from '../broker-context.js';

/** One line a person can act on: what went, and why the next segment stayed. */
export function describeDeletion(r: Pick<CleanReport, 'deletedSegments' | 'deletedStoreFiles' | 'firstIndex' | 'stoppedBy'>, fileReservedTimeHours: number): string {
  const done =
    r.deletedSegments === 0
      ? 'deleted nothing'
      : `deleted ${r.deletedSegments} expired log segment${r.deletedSegments === 1 ? '' : 's'} and ${r.deletedStoreFiles} ConsumeQueue/IndexFile file${r.deletedStoreFiles === 1 ? '' : 's'}`;
  const why = r.stoppedBy === undefined ? '' : `; kept the rest: ${STOPPED_BY[r.stoppedBy](fileReservedTimeHours)}`;
  return `${done}${why}; the log starts at index ${r.firstIndex}`;
}

const STOPPED_BY: Record<NonNullable<CleanReport['stoppedBy']>, (hours: number) => string> = {
  unexpired: (h) => `the next segment was written less than fileReservedTime=${h} h ago`,
  undispatched: () => 'the next segment holds entries not yet dispatched into the ConsumeQueues',
  'min-retain-index': () =>
    'the next segment holds entries a follower still needs, this node has not applied, or the latest metadata snapshot does not cover yet (the leader writes a new one within a second; run the command again)',
  'last-segment': () => 'the next segment holds the newest entry',
  'run-limit': () => 'a run deletes a bounded number of segments; run the command again for more',
};

function handle(ctx: BrokerContext, req: RemotingCommand): RemotingCommand {
  let report: CleanReport;
  try {
    report = ctx.admin.deleteExpiredCommitLog();
  } catch (err) {
    ctx.log.error({ err }, 'deleteExpiredCommitLog failed');
    return makeResponse(req, ResponseCode.SYSTEM_ERROR, `deleting expired CommitLog segments on ${ctx.raft.nodeId} failed: ${(err as Error).message}`);
  }
  const hours = ctx.config.fileReservedTime;
  const body: DeleteExpiredBody = {
    nodeId: ctx.raft.nodeId,
    brokerName: ctx.config.brokerName,
    brokerAddr: ctx.brokerAddr,
    deletedSegments: report.deletedSegments,
    deletedStoreFiles: report.deletedStoreFiles,
    firstIndex: report.firstIndex,
    ...(report.stoppedBy !== undefined ? { stoppedBy: report.stoppedBy } : {}),
    usedRatio: report.usedRatio,
    fileReservedTimeHours: hours,
  };
  return makeResponse(req, ResponseCode.SUCCESS, `${ctx.raft.nodeId}: ${describeDeletion(report, hours)}`, {}, encodeJsonBody(body));
}

export const deleteExpiredCommitLogProcessor: BrokerProcessor = {
  name: 'delete-expired-commitlog',
  codes: [RequestCode.DELETE_EXPIRED_COMMITLOG],
  handle,
};
