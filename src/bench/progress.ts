// A one-line progress bar on stderr, redrawn on a timer (never per message), shown only when
// stderr is a terminal so logs and --json output stay clean.
const REDRAW_MS = 200;
const BAR_CHARS = 30;

export interface Progress {
  /** `total` 0: unknown (no bar, only the count and rate). */
  start(label: string, total: number): void;
  /** `errors` is shown when given and non-zero. */
  update(done: number, errors?: number): void;
  finish(): void;
}

export function createProgress(enabled: boolean): Progress {
  if (!enabled || process.stderr.isTTY !== true) return { start() {}, update() {}, finish() {} };
  let label = '';
  let total = 1;
  let done = 0;
  let errors = 0;
  let t0 = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    const s = (performance.now() - t0) / 1000;
    const rate = s > 0 ? Math.round(done / s) : 0;
    const errorText = errors > 0 ? ` ${errors} errors` : '';
    if (total === 0) {
      process.stderr.write(`\r${label.padEnd(22)} ${done} ${rate} msgs/s${errorText}   `);
      return;
    }
    const frac = Math.min(1, done / total);
    const filled = Math.round(frac * BAR_CHARS);
    process.stderr.write(`\r${label.padEnd(22)} [${'#'.repeat(filled)}${'.'.repeat(BAR_CHARS - filled)}] ${done}/${total} ${rate} msgs/s${errorText}   `);
  };
  return {
    start(l, t) {
      label = l;
      total = Math.max(0, t);
      done = 0;
      errors = 0;
      t0 = performance.now();
      timer = setInterval(draw, REDRAW_MS);
      timer.unref();
    },
    update(d, e) {
      done = d;
      if (e !== undefined) errors = e;
    },
    finish() {
      // Also called on the way out after an error: draw only a bar that is still running.
      if (timer === undefined) return;
      clearInterval(timer);
      timer = undefined;
      draw();
      process.stderr.write('\n');
    },
  };
}
