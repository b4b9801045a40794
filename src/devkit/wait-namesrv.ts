// Waits until a NameServer accepts connections (the moment brokers can register with it), or
// fails at once when `failure()` gives a reason (the process died at start).
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
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
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const reason = failure();
    if (reason !== undefined) throw new DevkitError(reason, 'ERR_DEVKIT_START_FAILED');
    if (await canConnect(addr)) return;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new DevkitError(`the NameServer did not listen on ${addr} within ${timeoutMs} ms${logHint}`, 'ERR_DEVKIT_START_FAILED');
}
