// The demo's load: a producer sending numbered messages at a steady rate with several sync sends
// in flight, and a PushConsumer recording which numbers arrived. It keeps what the verdict needs:
// the acknowledged set, the consumed set, redeliveries, send errors, and the acknowledgement times
// around a chosen moment (the kill) that give how long sends were interrupted.
import { ConsumeFromWhere, ConsumeResult, isOutcomeUnknown, Producer, PushConsumer } from '../../client/index.js';
import { assert } from '../../common/assert.js';
import { pollWithin } from '../../common/poll.js';
import { sleep } from '../sleep.js';
import { SeqSet } from './seq-set.js';

export interface TrafficOptions {
  namesrvAddr: string;
  topic: string;
  ratePerSecond: number;
  inFlight: number;
  maxMessages: number;
}

const BODY_PREFIX = 'demo-';

export class DemoTraffic {
  readonly acked: SeqSet;
  readonly consumed: SeqSet;
  redelivered = 0;
  sent = 0;
  sendErrors = 0;
  sendErrorsUnknown = 0;
  firstSendError: string | undefined;
  lastAckMs = 0;
  /** Longest time between two consecutive acknowledgements (ms), and when it ended. */
  longestGapMs = 0;
  longestGapEndMs = 0;
  /** Set by mark() (the kill): the last acknowledgement before it and the first one after it. */
  markMs = 0;
  lastAckBeforeMarkMs = 0;
  firstAckAfterMarkMs = 0;
  private producer: Producer;
  private consumer: PushConsumer;
  private next = 0;
  private stopping = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly o: TrafficOptions) {
    assert(o.ratePerSecond > 0 && o.inFlight > 0 && o.maxMessages > 0, 'rate, in-flight sends and the message bound must be positive');
    this.acked = new SeqSet(o.maxMessages);
    this.consumed = new SeqSet(o.maxMessages);
    // Generous timeouts and retries: a send started just before the leader dies rides out the
    // election instead of failing, which is what an application wants from its producer.
    this.producer = new Producer({ namesrvAddr: o.namesrvAddr, producerGroup: 'demo-producer', sendMsgTimeoutMs: 15_000, retryTimesWhenSendFailed: 8 });
    this.consumer = new PushConsumer({
      namesrvAddr: o.namesrvAddr,
      consumerGroup: 'demo-consumer',
      consumeFromWhere: ConsumeFromWhere.FIRST_OFFSET,
      persistOffsetIntervalMs: 1000,
      awaitTerminationMs: 2000,
    });
    this.consumer.subscribe(o.topic, '*');
    this.consumer.onMessage((msg) => {
      const text = msg.body.toString('utf8');
      const seq = text.startsWith(BODY_PREFIX) ? Number(text.slice(BODY_PREFIX.length)) : NaN;
      if (Number.isInteger(seq) && seq >= 0 && seq < this.o.maxMessages && !this.consumed.add(seq)) this.redelivered++;
      return ConsumeResult.CONSUME_SUCCESS;
    });
  }

  async start(): Promise<void> {
    await this.producer.start();
    await this.consumer.start();
    const intervalMs = (1000 * this.o.inFlight) / this.o.ratePerSecond;
    for (let w = 0; w < this.o.inFlight; w++) this.workers.push(this.worker(intervalMs, (w * intervalMs) / this.o.inFlight));
  }

  /** One of `inFlight` senders; each sends once per interval, so together they keep the rate. */
  private async worker(intervalMs: number, offsetMs: number): Promise<void> {
    await sleep(offsetMs);
    // Ends when stop() is called or the sequence space is used up.
    while (!this.stopping && this.next < this.o.maxMessages) {
      const seq = this.next++;
      const t0 = performance.now();
      this.sent++;
      try {
        await this.producer.send({ topic: this.o.topic, body: `${BODY_PREFIX}${seq}`, keys: `demo-${seq}` });
        const now = performance.now();
        this.acked.add(seq);
        if (this.lastAckMs > 0 && now - this.lastAckMs > this.longestGapMs) {
          this.longestGapMs = now - this.lastAckMs;
          this.longestGapEndMs = now;
        }
        this.lastAckMs = Math.max(this.lastAckMs, now);
        if (this.markMs > 0 && this.firstAckAfterMarkMs === 0 && t0 > this.markMs) this.firstAckAfterMarkMs = now;
      } catch (err) {
        this.sendErrors++;
        if (isOutcomeUnknown(err)) this.sendErrorsUnknown++;
        this.firstSendError ??= (err as Error).message;
      }
      const rest = intervalMs - (performance.now() - t0);
      if (rest > 0) await sleep(rest);
    }
  }

  /** Remembers this moment; sends started after it measure when acknowledgements resumed. */
  mark(): void {
    this.markMs = performance.now();
    this.lastAckBeforeMarkMs = this.lastAckMs;
    this.firstAckAfterMarkMs = 0;
  }

  /** Stops sending and waits for sends in flight to finish. */
  async stopProducing(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  /** Waits until every acknowledged message was consumed, or the timeout. */
  async waitConsumed(timeoutMs: number): Promise<boolean> {
    const all = await pollWithin(timeoutMs, () => (this.acked.missingFrom(this.consumed, 1).total === 0 ? true : undefined), { intervalMs: 200 });
    return all === true;
  }

  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
    await Promise.all([this.producer.shutdown().catch(() => undefined), this.consumer.shutdown().catch(() => undefined)]);
  }
}
