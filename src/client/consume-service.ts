// Runs the user's handler over pulled messages. Concurrent mode: one FIFO across queues, at most
// `concurrency` handlers at once. Orderly mode: one runner per queue, one message at a time in
// offset order; a failed message is retried in place after a pause (order matters more than
// progress) and sent back only after maxReconsumeTimes. A message counts as finished (and its
// offset may be committed) only after its handler succeeded or it was handed back to the broker.
import type { Logger } from '../common/logger.js';
import { ConsumeResult } from './client-constants.js';
import type { MessageExt } from './message.js';
import type { ProcessQueue } from './process-queue.js';
import { sleep } from './sleep.js';

export type MessageHandler = (msg: MessageExt) => ConsumeResult | void | Promise<ConsumeResult | void>;

export interface ConsumeHost {
  readonly log: Logger;
  handler(): MessageHandler;
  /** The message is done: record the queue's commit offset. */
  onFinished(pq: ProcessQueue, msg: MessageExt): void;
  /** Hands a failed message back to the broker for later redelivery; false when that failed. */
  sendBack(msg: MessageExt): Promise<boolean>;
  /** Orderly mode: whether this client may process the queue now (it holds a live lock). */
  mayConsume?(pq: ProcessQueue): boolean;
}

/** How often an orderly queue waiting for its lock looks again. */
const LOCK_WAIT_POLL_MS = 50;

export interface ConsumeService {
  submit(pq: ProcessQueue, msgs: readonly MessageExt[]): void;
  /** Starts no new handler; resolves when running handlers finished or after timeoutMs. */
  stop(timeoutMs: number): Promise<void>;
}

async function runHandler(host: ConsumeHost, msg: MessageExt): Promise<boolean> {
  try {
    const result = await host.handler()(msg);
    return result === undefined || result === ConsumeResult.CONSUME_SUCCESS;
  } catch (err) {
    host.log.warn({ err, msgId: msg.msgId, topic: msg.topic }, 'message handler threw; the message will be consumed again later');
    return false;
  }
}

/** Waits until `idle()` or the timeout; polls because handlers are user code of unknown length. */
async function waitIdle(idle: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!idle() && Date.now() < deadline) await sleep(10);
}

export class ConcurrentConsumeService implements ConsumeService {
  private readonly pending: { pq: ProcessQueue; msg: MessageExt }[] = [];
  private head = 0;
  private running = 0;
  private stopped = false;

  constructor(
    private readonly host: ConsumeHost,
    private readonly concurrency: number,
    private readonly retryLaterMs: number,
  ) {}

  submit(pq: ProcessQueue, msgs: readonly MessageExt[]): void {
    for (const msg of msgs) this.pending.push({ pq, msg });
    this.pump();
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    await waitIdle(() => this.running === 0, timeoutMs);
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.head < this.pending.length) {
      const task = this.pending[this.head++]!;
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      if (task.pq.dropped) continue;
      this.running++;
      void this.consume(task.pq, task.msg).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async consume(pq: ProcessQueue, msg: MessageExt): Promise<void> {
    if (await runHandler(this.host, msg)) {
      this.host.onFinished(pq, msg);
      return;
    }
    if (pq.dropped) return;
    if (await this.host.sendBack(msg)) {
      this.host.onFinished(pq, msg);
      return;
    }
    // Neither consumed nor handed back: keep it in flight (its offset is not committed) and try again.
    await sleep(this.retryLaterMs);
    if (!this.stopped && !pq.dropped) this.submit(pq, [msg]);
  }
}

export class OrderlyConsumeService implements ConsumeService {
  private readonly queues = new Map<ProcessQueue, { msgs: MessageExt[]; head: number; running: boolean }>();
  private running = 0;
  private stopped = false;

  constructor(
    private readonly host: ConsumeHost,
    private readonly maxReconsumeTimes: number,
    private readonly suspendMs: number,
  ) {}

  submit(pq: ProcessQueue, msgs: readonly MessageExt[]): void {
    let q = this.queues.get(pq);
    if (q === undefined) this.queues.set(pq, (q = { msgs: [], head: 0, running: false }));
    q.msgs.push(...msgs);
    if (!q.running && !this.stopped) {
      q.running = true;
      this.running++;
      void this.drain(pq, q).finally(() => {
        q.running = false;
        this.running--;
        if (pq.dropped) this.queues.delete(pq);
      });
    }
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    await waitIdle(() => this.running === 0, timeoutMs);
  }

  private async drain(pq: ProcessQueue, q: { msgs: MessageExt[]; head: number }): Promise<void> {
    // Bounded by the messages submitted; each round finishes one or leaves.
    while (!this.stopped && !pq.dropped && q.head < q.msgs.length) {
      const msg = q.msgs[q.head]!;
      let done = false;
      for (let attempt = 0; !done && attempt <= this.maxReconsumeTimes; attempt++) {
        if (attempt > 0) {
          await sleep(this.suspendMs);
          if (this.stopped || pq.dropped) return;
        }
        // Without a live lock another consumer may hold the queue: wait (the lock is renewed or
        // the queue dropped by the rebalancer; each round re-checks both).
        while (this.host.mayConsume !== undefined && !this.host.mayConsume(pq)) {
          await sleep(LOCK_WAIT_POLL_MS);
          if (this.stopped || pq.dropped) return;
        }
        pq.consuming = true;
        try {
          done = await runHandler(this.host, msg);
        } finally {
          pq.consuming = false;
        }
      }
      if (!done) {
        if (pq.dropped) return;
        if (!(await this.host.sendBack(msg))) {
          await sleep(this.suspendMs);
          continue;
        }
      }
      q.head++;
      if (q.head > 1024 && q.head * 2 > q.msgs.length) {
        q.msgs.splice(0, q.head);
        q.head = 0;
      }
      this.host.onFinished(pq, msg);
    }
  }
}
