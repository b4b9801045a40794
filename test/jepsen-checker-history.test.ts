// The history file: what the writer appends the reader reads back unchanged, the reader names
// the first bad line with a typed error, and the recorder refuses records that break the rules.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryBuilder } from '../jepsen-like/history/builder.js';
import { HistoryAssertionError, HistoryFormatError } from '../jepsen-like/history/errors.js';
import { parseHistory, readHistory } from '../jepsen-like/history/reader.js';
import { HistoryWriter } from '../jepsen-like/history/writer.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'jepsen-history-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const line = (o: object): string => JSON.stringify(o);

function expectMalformed(text: string, lineNumber: number, reason: RegExp): void {
  let caught: unknown;
  try {
    parseHistory(text, 'h.jsonl');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(HistoryFormatError);
  const err = caught as HistoryFormatError;
  expect(err.code).toBe('ERR_JEPSEN_HISTORY_MALFORMED');
  expect(err.lineNumber).toBe(lineNumber);
  expect(err.reason).toMatch(reason);
  expect(err.message).toContain(`h.jsonl:${lineNumber}`);
}

describe('the history writer and reader', () => {
  it('read back every record the writer appended, in order, with stamped index and time', async () => {
    const path = join(dir, 'history.jsonl');
    let nowMs = 0;
    // A tiny buffer forces several intermediate writes besides the one on close.
    const w = HistoryWriter.open(path, { clockMs: () => (nowMs += 1.5), maxBufferBytes: 64, flushIntervalMs: 0 });
    w.invokeSend(0, { value: 1, queue: 'jepsen/0' });
    w.completeSend(0, 'ok', { value: 1, queue: 'jepsen/0', offset: 0, msgId: 'AC11' }, { attempts: 1 });
    w.nemesis('start', 'partition-halves', { minority: ['n2'] });
    w.assign('c1', ['jepsen/0'], { 'jepsen/0': 0 });
    w.invokeRead('c1', 'poll');
    w.completeRead('c1', 'poll', 'ok', [{ queue: 'jepsen/0', offset: 0, value: 1 }]);
    // Past the 64-byte bound the buffer has gone to the file already, before any close.
    expect(readFileSync(path, 'utf8').split('\n').length).toBeGreaterThan(5);
    w.nemesis('stop', 'partition-halves');
    w.invokeSend(0, { value: 'two' });
    w.completeSend(0, 'info', { value: 'two' }, { error: 'timeout' });
    w.finalState([{ node: 'n0', commitIndex: 3, logHash: 'abc', consumeQueueHashes: { 'jepsen/0': 'q' } }]);
    w.invokeSend(1, { value: 3 });
    w.close();
    w.close();

    const text = readFileSync(path, 'utf8');
    expect(text.trimEnd().split('\n')).toHaveLength(11);
    const history = await readHistory(path);
    expect(history.map((op) => op.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(history.map((op) => op.time)).toEqual([1.5, 3, 4.5, 6, 7.5, 9, 10.5, 12, 13.5, 15, 16.5]);
    expect(history[1]).toEqual({ index: 1, time: 3, process: 0, type: 'ok', f: 'send', value: { value: 1, queue: 'jepsen/0', offset: 0, msgId: 'AC11' }, attempts: 1 });
    expect(history[2]).toMatchObject({ process: 'nemesis', type: 'info', f: 'nemesis', value: { kind: 'start', fault: 'partition-halves' } });
    expect(history[9]).toMatchObject({ f: 'final-state', process: 'final' });
    expect(parseHistory(text)).toEqual(history);
  });

  it('flush buffered records on their interval without waiting for close', async () => {
    const path = join(dir, 'history.jsonl');
    const w = HistoryWriter.open(path, { flushIntervalMs: 10 });
    try {
      w.invokeSend(0, { value: 1 });
      expect(readFileSync(path, 'utf8')).toBe('');
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(parseHistory(readFileSync(path, 'utf8'))).toHaveLength(1);
    } finally {
      w.close();
    }
  });

  it('refuse to overwrite an existing history file', () => {
    const path = join(dir, 'history.jsonl');
    writeFileSync(path, '');
    expect(() => HistoryWriter.open(path)).toThrow(/EEXIST/);
  });

  it('assert on misuse: a completion without an invoke, a second invoke, an ok send without a queue, use after close', () => {
    const b = new HistoryBuilder();
    expect(() => b.completeSend(0, 'ok', { value: 1, queue: 'q/0', offset: 0 })).toThrow(HistoryAssertionError);
    b.invokeSend(0, { value: 1 });
    expect(() => b.invokeRead(0, 'poll')).toThrow(/still outstanding/);
    expect(() => b.completeSend(0, 'ok', { value: 1 })).toThrow(/must name its queue/);
    expect(() => b.completeSend(0, 'ok', { value: 2, queue: 'q/0' })).toThrow(/invoked 1/);
    expect(() => b.at(-1)).toThrow(HistoryAssertionError);
    const w = HistoryWriter.open(join(dir, 'h.jsonl'), { flushIntervalMs: 0 });
    w.close();
    expect(() => w.invokeSend(0, { value: 1 })).toThrow(/after close/);
  });
});

describe('the history reader', () => {
  const invoke = line({ index: 0, time: 0, process: 0, type: 'invoke', f: 'send', value: { value: 1 } });
  const ok = line({ index: 1, time: 2, process: 0, type: 'ok', f: 'send', value: { value: 1, queue: 'q/0', offset: 0 } });

  it('accepts a history with blank lines and an invoke left open at the end', () => {
    const history = parseHistory(`${invoke}\n\n${ok}\n${line({ index: 2, time: 3, process: 0, type: 'invoke', f: 'poll', value: null })}\n`);
    expect(history).toHaveLength(3);
  });

  it('rejects a line that is not JSON with a typed error naming that line', () => {
    expectMalformed(`${invoke}\n{"index": 1, "time":\n${ok}`, 2, /not JSON/);
  });

  it('rejects a record with a missing or mistyped field', () => {
    expectMalformed(`${invoke}\n${line({ index: 1, time: 2, process: 0, type: 'ok', f: 'send', value: { value: 1, offset: 0 } })}`, 2, /queue/);
    expectMalformed(line({ index: 0, process: 0, type: 'invoke', f: 'send', value: { value: 1 } }), 1, /time/);
    expectMalformed(line({ index: 0, time: 0, process: 0, type: 'done', f: 'send', value: { value: 1 } }), 1, /type/);
    expectMalformed(line({ index: 0, time: 0, process: 0, type: 'invoke', f: 'publish', value: {} }), 1, /unknown f/);
    expectMalformed(line({ index: 0, time: 0, process: 1, type: 'ok', f: 'poll', value: [{ queue: 'q/0', offset: -1, value: 1 }] }), 1, /item 0/);
    expectMalformed(line({ index: 0, time: 0, type: 'info', f: 'nemesis', value: { kind: 'begin', fault: 'x' } }), 1, /kind/);
    expectMalformed(line({ index: 0, time: 0, type: 'info', f: 'final-state', value: { replicas: [{ node: 'n0' }] } }), 1, /replica 0/);
  });

  it('rejects records that break ordering or pairing', () => {
    expectMalformed(`${ok}`, 1, /without an invoke/);
    expectMalformed(`${invoke}\n${invoke}`, 2, /does not increase/);
    expectMalformed(`${invoke}\n${line({ index: 1, time: 2, process: 0, type: 'invoke', f: 'send', value: { value: 2 } })}`, 2, /still outstanding/);
    expectMalformed(`${line({ index: 0, time: 5, process: 0, type: 'invoke', f: 'send', value: { value: 1 } })}\n${ok}`, 2, /goes back/);
    expectMalformed(`${invoke}\n${line({ index: 1, time: 2, process: 0, type: 'ok', f: 'poll', value: [] })}`, 2, /outstanding invoke is send/);
  });

  it('names the file and line when reading from disk', async () => {
    const path = join(dir, 'history.jsonl');
    writeFileSync(path, `${invoke}\n${ok}\nnot json\n`);
    await expect(readHistory(path)).rejects.toMatchObject({ code: 'ERR_JEPSEN_HISTORY_MALFORMED', lineNumber: 3, source: path });
  });
});
