// Waits until something accepts TCP connections on 127.0.0.1:port: how the harness knows a
// process it started is up without reading its logs.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { NetError } from './net-errors.js';

export async function waitForPort(port: number, timeoutMs: number, host = '127.0.0.1', signal?: AbortSignal): Promise<void> {
  assert(timeoutMs > 0, 'timeoutMs must be positive');
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  // Bounded by the deadline; each attempt waits at most the time left.
  while (Date.now() < deadline && signal?.aborted !== true) {
    try {
      await tryConnect(port, host, Math.max(1, deadline - Date.now()));
      return;
    } catch (err) {
      lastError = err;
      await sleep(Math.min(50, Math.max(0, deadline - Date.now())));
    }
  }
  if (signal?.aborted === true) throw new Error('waitForPort aborted', { cause: lastError });
  throw new NetError('ERR_JEPSEN_PORT_WAIT_TIMEOUT', `nothing accepted connections on ${host}:${port} within ${timeoutMs} ms`, { cause: lastError });
}

function tryConnect(port: number, host: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      // A reset leaves no TIME_WAIT behind on our ephemeral port (it may be a port we listen on later).
      s.resetAndDestroy();
      resolve();
    });
    s.once('error', (err) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    });
  });
}
