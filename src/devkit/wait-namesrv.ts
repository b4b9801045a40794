// Waits until a NameServer accepts connections (the moment brokers can register with it), or
// fails at once when `failure()` gives a reason (the process died at start).
import { connect } from 'node:net';
import { mapPollError, pollUntil } from '../common/poll.js';
import { DevkitError } from './devkit-errors.js';

const POLL_INTERVAL_MS = 50;

export function canConnect(addr: string): Promise<boolean> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function waitForNamesrv(addr: string, timeoutMs: number, failure: () => string | undefined, logHint = ''): Promise<void> {
  await pollUntil(`the NameServer on ${addr}`, timeoutMs, async () => ((await canConnect(addr)) ? true : undefined), { intervalMs: POLL_INTERVAL_MS, failure }).catch(
    mapPollError((err) => {
      if (err.code === 'ERR_COMMON_POLL_FAILED') return new DevkitError(err.message, 'ERR_DEVKIT_START_FAILED');
      return new DevkitError(`the NameServer did not listen on ${addr} within ${timeoutMs} ms${logHint}`, 'ERR_DEVKIT_START_FAILED');
    }),
  );
}
