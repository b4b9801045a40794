// The -n option every client command takes, checked before any client is built so a mistake
// reads in the CLI's terms ("pass -n host:port") rather than the SDK's option names.
import { CliError } from './cli-errors.js';

export function namesrvAddrOf(value: string | undefined): string {
  const raw = value ?? process.env['NAMESRV_ADDR'];
  if (raw === undefined || raw.trim() === '') throw new CliError('no NameServer address: pass -n <host:port> (for example -n 127.0.0.1:9876) or set NAMESRV_ADDR');
  for (const addr of raw.split(';').map((s) => s.trim()).filter((s) => s !== '')) {
    const i = addr.lastIndexOf(':');
    const port = Number(addr.slice(i + 1));
    if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new CliError(`-n ${addr} is not host:port; write it like -n 127.0.0.1:9876`);
  }
  return raw;
}
