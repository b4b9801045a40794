// Parsers for option values. Each throws commander's InvalidArgumentError, which commander turns
// into one line naming the option ("option '--count <n>' argument 'x' is invalid. ...").
import { InvalidArgumentError } from 'commander';

export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

export function secondsValue(maxSeconds: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > maxSeconds) throw new InvalidArgumentError(`expected seconds, more than 0 and at most ${maxSeconds}.`);
    return n;
  };
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    return value as T;
  };
}


/** A broker or NameServer address, host:port (the port 1..65535). */
export function hostPortValue(value: string): string {
  const m = /^([A-Za-z0-9.\-]+):(\d{1,5})$/.exec(value.trim());
  if (m === null || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:10911.');
  return value.trim();
}
