// What the demo prints while it runs: event lines with the time since start, and a live status
// line. On a terminal the status line is a spinner redrawn in place under the events; otherwise
// (a pipe, a CI log) it becomes a plain line every few seconds, so logs stay readable.

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const TTY_REDRAW_MS = 100;
const PLAIN_STATUS_EVERY_MS = 2000;

export class Progress {
  private readonly tty: boolean;
  private readonly startedMs = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private drawn = false;
  private status: () => string = () => '';

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = out.isTTY === true;
  }

  elapsedS(): string {
    return ((performance.now() - this.startedMs) / 1000).toFixed(1).padStart(5);
  }

  /** One event line; on a terminal the status line is erased first and redrawn after. */
  say(line: string): void {
    this.erase();
    this.out.write(`[${this.elapsedS()}s] ${line}\n`);
    this.draw();
  }

  /** Starts showing `status()` (spinner on a terminal, a line every few seconds otherwise). */
  showStatus(status: () => string): void {
    this.status = status;
    if (this.timer !== undefined) return;
    this.timer = setInterval(
      () => {
        if (this.tty) {
          this.erase();
          this.frame = (this.frame + 1) % SPINNER.length;
          this.draw();
        } else this.out.write(`[${this.elapsedS()}s]   ${this.status()}\n`);
      },
      this.tty ? TTY_REDRAW_MS : PLAIN_STATUS_EVERY_MS,
    );
    this.timer.unref();
  }

  stopStatus(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
    this.status = () => '';
  }

  private draw(): void {
    if (!this.tty || this.timer === undefined) return;
    const text = this.status();
    if (text === '') return;
    // A pseudo-terminal may report 0 columns.
    const width = Math.max(20, (this.out.columns || 100) - 1);
    this.out.write(`${SPINNER[this.frame]} ${text}`.slice(0, width));
    this.drawn = true;
  }

  private erase(): void {
    if (!this.tty || !this.drawn) return;
    this.out.write('\r\x1b[2K');
    this.drawn = false;
  }
}
