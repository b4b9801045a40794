// Parsers for option values. Each throws commander's InvalidArgumentError, which commander turns
// into one line naming the option ("option '--count <n>' argument 'x' is invalid. ...").
import { InvalidArgumentError, type Command } from 'commander';
import { CliError } from './cli-errors.js';

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

/**
 * Refuses options `a` and `b` (attribute names, e.g. 'namesrvAddr') given together on the command
 * line, instead of one silently winning: commander then prints one line naming both flags
 * ("option '--local' cannot be used with option '-n, --namesrv-addr <addr>'"). Defaults never clash.
 */
export function conflicting(cmd: Command, a: string, b: string): Command {
  const opt = cmd.options.find((o) => o.attributeName() === a);
  if (opt === undefined) throw new Error(`no option ${a} on command ${cmd.name()}`);
  opt.conflicts(b);
  return cmd;
}

/** True when the user typed the option (not a default, not the environment). */
export function givenOnCommandLine(cmd: Command, attribute: string): boolean {
  return cmd.getOptionValueSource(attribute) === 'cli';
}

/** Refuses `flag` given without `needed` (a flag that means nothing alone). */
export function requireWith(cmd: Command, attribute: string, flag: string, needed: string, present: boolean): void {
  if (givenOnCommandLine(cmd, attribute) && !present) throw new CliError(`${flag} needs ${needed}: without it ${flag} would be ignored`);
}
