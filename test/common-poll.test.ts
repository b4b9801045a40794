import { describe, expect, it } from 'vitest';
import { mapPollError, PollError, pollUntil, pollWithin } from '../src/common/poll.js';

describe('the tools\' bounded poll', () => {
  it('returns the first answer that is not undefined', async () => {
    let calls = 0;
    const value = await pollUntil('the third call', 5000, () => (++calls === 3 ? 'ready' : undefined), { intervalMs: 1 });
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('throws ERR_COMMON_POLL_TIMEOUT naming what it waited for once the bound has passed', async () => {
    const started = Date.now();
    const err = await pollUntil('a thing that never comes', 50, () => undefined, { intervalMs: 5 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PollError);
    expect(err).toMatchObject({ code: 'ERR_COMMON_POLL_TIMEOUT', message: expect.stringContaining('a thing that never comes') });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('stops at once with ERR_COMMON_POLL_FAILED and the reason when failure() gives one', async () => {
    let probes = 0;
    const err = await pollUntil('a leader', 10_000, () => (probes++, undefined), { intervalMs: 1, failure: () => (probes >= 2 ? 'node n1 exited' : undefined) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_COMMON_POLL_FAILED', message: 'node n1 exited' });
    expect(probes).toBe(2);
  });

  it('pollWithin answers undefined at the bound instead of throwing, but lets a failure through', async () => {
    expect(await pollWithin(20, () => undefined, { intervalMs: 5 })).toBeUndefined();
    expect(await pollWithin(1000, () => 7)).toBe(7);
    await expect(pollWithin(1000, () => undefined, { failure: () => 'gone' })).rejects.toMatchObject({ code: 'ERR_COMMON_POLL_FAILED' });
  });

  it('mapPollError turns a poll error into the caller\'s error and passes any other error unchanged', async () => {
    const mapped = await pollUntil('x', 0, () => undefined).catch(mapPollError((e) => new Error(`mapped ${e.code}`))).catch((e: Error) => e.message);
    expect(mapped).toBe('mapped ERR_COMMON_POLL_TIMEOUT');
    const own = new RangeError('probe broke');
    await expect(pollUntil('x', 1000, () => { throw own; }).catch(mapPollError(() => new Error('wrong')))).rejects.toBe(own);
  });
});
