import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isAlive, processState } from '../raft/tools/process/process-identity.js';
import { pollFor } from './helpers/poll.js';

describe('process identity', () => {
  it('counts a running process as alive', () => {
    expect(isAlive(process.pid)).toBe(true);
  });

  it.runIf(process.platform === 'linux')('counts a zombie (exited, not yet reaped, so its PID still exists) as dead', async () => {
    // The shell backgrounds a short sleep, prints its pid and becomes a long sleep that never
    // reaps it: the short sleep stays a zombie until the long one is stopped.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      await pollFor('the child to become a zombie', 5000, () => (processState(zombie) === 'Z' ? true : undefined));
      expect(isAlive(zombie)).toBe(false);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
