// Picks where a run's cluster listens: a random base in [27000, 32000) (below the kernel's
// ephemeral range, which starts at 32768, so outgoing connections never take our ports; above
// the test suite's fixed ports, so a run never takes one a test is about to bind), and a
// check that every port of the plan is free right now. Another process may still take one
// before our servers bind it; the run retries its setup on a new base when that happens.
import { createServer } from 'node:net';
import { PORT_PLAN_SPAN } from '../db/port-plan.js';

export const PORT_RANGE_LOW = 27_000;
export const PORT_RANGE_HIGH = 32_000;

export function randomBasePort(random: () => number = Math.random): number {
  const slots = Math.floor((PORT_RANGE_HIGH - PORT_RANGE_LOW - PORT_PLAN_SPAN) / 16);
  return PORT_RANGE_LOW + 16 * Math.floor(random() * slots);
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function allPortsFree(ports: readonly number[]): Promise<boolean> {
  for (const p of ports) if (!(await portFree(p))) return false;
  return true;
}
