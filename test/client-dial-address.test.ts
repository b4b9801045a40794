// A client that reaches servers through a port forward (or a test proxy) dials the mapped
// address while everything else (connections, errors, the addresses in routes) keeps the address
// the server is known by.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RemotingConnectionError } from '../src/protocol/protocol-errors.js';
import { RemotingClient } from '../src/protocol/remoting-client.js';
import { makeRequest, makeResponse } from '../src/protocol/remoting-command.js';
import { RemotingServer } from '../src/protocol/remoting-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('a remoting client with dialAddress', () => {
  it('dials the mapped address for a logical one and reports errors under the logical one', async () => {
    const server = new RemotingServer({ logger: pino({ level: 'silent' }) });
    server.registerHandler(77, (req) => makeResponse(req, 0, 'reached'));
    const { port } = await server.listen(0, '127.0.0.1');
    cleanups.push(() => server.close());
    // A logical address nothing listens on (port 1 is privileged and closed here).
    const logical = '127.0.0.1:1';
    const dialled: string[] = [];
    const client = new RemotingClient({
      logger: pino({ level: 'silent' }),
      dialAddress: (addr) => {
        dialled.push(addr);
        return addr === logical ? `127.0.0.1:${port}` : addr;
      },
    });
    cleanups.push(() => client.close());
    const resp = await client.invoke(logical, makeRequest(77), 2000);
    expect(resp.remark).toBe('reached');
    expect(dialled).toEqual([logical]);

    const plain = new RemotingClient({ logger: pino({ level: 'silent' }), connectTimeoutMs: 1000 });
    cleanups.push(() => plain.close());
    const err = await plain.invoke(logical, makeRequest(77), 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemotingConnectionError);
    expect((err as Error).message).toContain(logical);
  });
});
