// The remoting server and client over real TCP on 127.0.0.1 (ports: a random free block).
import net from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RmqError } from '../src/common/errors.js';
import { encodeFrame, FrameDecoder } from '../src/protocol/frame-codec.js';
import {
  RemotingConnectionError,
  RemotingTimeoutError,
} from '../src/protocol/protocol-errors.js';
import { RemotingClient } from '../src/protocol/remoting-client.js';
import { isOneway, isResponse, makeRequest, makeResponse, SerializeType, type RemotingCommand } from '../src/protocol/remoting-command.js';
import { RemotingServer, type RemotingChannel } from '../src/protocol/remoting-server.js';
import { findFreeBlock } from '../raft/tools/free-ports.js';

/** This file's ports: a block the kit's port finder found free. */
const PORTS = await findFreeBlock(100);

const HOST = '127.0.0.1';
let nextPort = PORTS;

interface Harness {
  server: RemotingServer;
  addr: string;
  logLines: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startServer(setup: (server: RemotingServer) => void = () => {}): Promise<Harness> {
  const logLines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  const server = new RemotingServer({ logger, maxFrameBytes: 64 * 1024 });
  setup(server);
  const port = nextPort++;
  await server.listen(port, HOST);
  cleanups.push(() => server.close());
  return { server, addr: `${HOST}:${port}`, logLines };
}

function newClient(options: ConstructorParameters<typeof RemotingClient>[0] = {}): RemotingClient {
  const client = new RemotingClient({ logger: pino({ level: 'silent' }), ...options });
  cleanups.push(() => client.close());
  return client;
}

function echoHandler(req: RemotingCommand): RemotingCommand {
  return makeResponse(req, 0, undefined, { echo: req.extFields['v'] ?? '' }, req.body);
}

/** Opens a raw socket, writes bytes, and resolves when the server closes it. */
function rawSocketClosedAfter(addr: string, bytes: Buffer): Promise<void> {
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: host!, port: Number(port) }, () => s.write(bytes));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('server did not close the connection'));
    }, 5000);
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

describe('remoting server', () => {
  it('answers an unknown request code with 3 REQUEST_CODE_NOT_SUPPORTED and a remark', async () => {
    const { addr } = await startServer();
    const client = newClient();
    const resp = await client.invoke(addr, makeRequest(9999), 2000);
    expect(resp.code).toBe(3);
    expect(resp.remark).toBe('request type 9999 not supported');
    expect(isResponse(resp)).toBe(true);
  });

  it('matches late, out-of-order async answers to their requests by opaque', async () => {
    const { addr } = await startServer((s) =>
      s.registerHandler(50, async (req) => {
        const delayMs = Number(req.extFields['delayMs']);
        await new Promise((r) => setTimeout(r, delayMs));
        return makeResponse(req, 0, undefined, { delayMs: String(delayMs) });
      }),
    );
    const client = newClient();
    const delays = [120, 10, 60, 0, 90];
    const resps = await Promise.all(delays.map((d) => client.invoke(addr, makeRequest(50, { delayMs: String(d) }), 3000)));
    expect(resps.map((r) => Number(r.extFields['delayMs']))).toEqual(delays);
  });

  it('answers a binary-header request in binary and a JSON request in JSON', async () => {
    const { addr } = await startServer((s) => s.registerHandler(51, echoHandler));
    const binary = newClient({ serializeType: SerializeType.ROCKETMQ });
    const json = newClient();
    const b = await binary.invoke(addr, makeRequest(51, { v: 'bin' }, { body: Buffer.from('body-b') }), 2000);
    const j = await json.invoke(addr, makeRequest(51, { v: 'json' }), 2000);
    expect([b.serializeType, b.extFields['echo'], b.body?.toString()]).toEqual([SerializeType.ROCKETMQ, 'bin', 'body-b']);
    expect([j.serializeType, j.extFields['echo'], j.body]).toEqual([SerializeType.JSON, 'json', undefined]);
  });

  it('turns a typed handler error into its response code and any other throw into SYSTEM_ERROR', async () => {
    const { addr } = await startServer((s) => {
      s.registerHandler(52, () => {
        throw new RmqError('ERR_TEST', 'topic is reserved', { responseCode: 16 });
      });
      s.registerHandler(53, async () => {
        throw new Error('disk on fire');
      });
    });
    const client = newClient();
    const typed = await client.invoke(addr, makeRequest(52), 2000);
    const plain = await client.invoke(addr, makeRequest(53), 2000);
    expect([typed.code, typed.remark]).toEqual([16, 'topic is reserved']);
    expect(plain.code).toBe(1);
    expect(plain.remark).toMatch(/disk on fire/);
  });

  it('closes only the connection that sent a malformed frame, logs it, and keeps serving others', async () => {
    const h = await startServer((s) => s.registerHandler(51, echoHandler));
    const client = newClient();
    expect((await client.invoke(h.addr, makeRequest(51, { v: 'before' }), 2000)).extFields['echo']).toBe('before');
    const garbage = Buffer.from([0, 0, 0, 12, 0, 0, 0, 8, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b, 0x7b]);
    await rawSocketClosedAfter(h.addr, garbage);
    expect(h.logLines.some((l) => l.includes('bad frame') && l.includes('ERR_REMOTING_MALFORMED_FRAME'))).toBe(true);
    expect((await client.invoke(h.addr, makeRequest(51, { v: 'after' }), 2000)).extFields['echo']).toBe('after');
  });

  it('closes a connection that announces an oversize frame and keeps serving others', async () => {
    const h = await startServer((s) => s.registerHandler(51, echoHandler));
    const client = newClient();
    await client.invoke(h.addr, makeRequest(51), 2000);
    const head = Buffer.alloc(8);
    head.writeUInt32BE(64 * 1024 + 1, 0);
    await rawSocketClosedAfter(h.addr, head);
    expect(h.logLines.some((l) => l.includes('ERR_REMOTING_FRAME_TOO_LARGE'))).toBe(true);
    expect(h.server.connectionCount).toBe(1);
    expect((await client.invoke(h.addr, makeRequest(51, { v: 'still' }), 2000)).extFields['echo']).toBe('still');
  });

  it('reports channel open and close so a broker can track client connections', async () => {
    const opened: RemotingChannel[] = [];
    const closed: RemotingChannel[] = [];
    const { addr } = await startServer((s) => {
      s.registerHandler(51, echoHandler);
      s.onChannelOpen((c) => opened.push(c));
      s.onChannelClose((c) => closed.push(c));
    });
    const client = newClient();
    await client.invoke(addr, makeRequest(51), 2000);
    expect(opened).toHaveLength(1);
    expect(opened[0]!.remoteAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    await client.close();
    await vi.waitFor(() => expect(closed.map((c) => c.id)).toEqual([opened[0]!.id]));
    expect(closed[0]!.closed).toBe(true);
  });

  it('does not answer a request flagged ONEWAY', async () => {
    const seen: string[] = [];
    const { addr } = await startServer((s) =>
      s.registerHandler(54, (req) => {
        seen.push(req.extFields['v'] ?? '');
        return makeResponse(req, 0);
      }),
    );
    const answers: RemotingCommand[] = [];
    const decoder = new FrameDecoder();
    const [host, port] = addr.split(':');
    const sock = net.connect({ host: host!, port: Number(port) });
    cleanups.push(() => void sock.destroy());
    sock.on('data', (d: Buffer) => void decoder.push(d, (cmd) => answers.push(cmd)));
    const oneway = makeRequest(54, { v: 'one' }, { oneway: true });
    oneway.opaque = 1;
    const normal = makeRequest(54, { v: 'two' });
    normal.opaque = 2;
    sock.write(Buffer.concat([encodeFrame(oneway), encodeFrame(normal)]));
    await vi.waitFor(() => expect(seen).toEqual(['one', 'two']));
    await vi.waitFor(() => expect(answers.length).toBeGreaterThan(0));
    await new Promise((r) => setTimeout(r, 50));
    expect(answers.map((a) => a.opaque)).toEqual([2]);
  });

  it('sends a one-way request to a client in the header type that client last spoke, with opaques of its own', async () => {
    const opened: RemotingChannel[] = [];
    const channels: RemotingChannel[] = [];
    const { addr, logLines } = await startServer((s) => {
      s.onChannelOpen((c) => opened.push(c));
      s.registerHandler(51, (req, ch) => {
        channels.push(ch);
        return echoHandler(req);
      });
    });
    const pushed = new Map<string, RemotingCommand[]>([['json', []], ['binary', []]]);
    const json = newClient();
    json.registerRequestHandler(40, (cmd) => void pushed.get('json')!.push(cmd));
    const binary = newClient({ serializeType: SerializeType.ROCKETMQ });
    binary.registerRequestHandler(40, (cmd) => void pushed.get('binary')!.push(cmd));
    await json.invoke(addr, makeRequest(51), 2000);
    expect(opened[0]!.serializeType).toBe(SerializeType.JSON);
    await binary.invoke(addr, makeRequest(51), 2000);
    const [jsonChannel, binaryChannel] = channels;
    expect(binaryChannel!.serializeType).toBe(SerializeType.ROCKETMQ);
    const notify = makeRequest(40, { consumerGroup: 'G' });
    for (const ch of [jsonChannel!, binaryChannel!, jsonChannel!]) expect(ch.sendOneway(notify)).toBe(true);
    await vi.waitFor(() => expect([pushed.get('json')!.length, pushed.get('binary')!.length]).toEqual([2, 1]));
    const seen = [...pushed.values()].flat().map((c) => ({ code: c.code, group: c.extFields['consumerGroup'], oneway: isOneway(c), response: isResponse(c), type: c.serializeType }));
    expect(seen).toEqual([
      { code: 40, group: 'G', oneway: true, response: false, type: SerializeType.JSON },
      { code: 40, group: 'G', oneway: true, response: false, type: SerializeType.JSON },
      { code: 40, group: 'G', oneway: true, response: false, type: SerializeType.ROCKETMQ },
    ]);
    expect(pushed.get('json')!.map((c) => c.opaque)).toEqual([1, 2]);
    // The command passed in is copied, not stamped: it can go to every channel of a group.
    expect([notify.opaque, notify.flag, notify.serializeType]).toEqual([0, 0, undefined]);
    await new Promise((r) => setTimeout(r, 50));
    expect(logLines.filter((l) => l.includes('dropping response from client'))).toEqual([]);
  });

  it('writes the responses of one event-loop turn with a single socket write', async () => {
    const { addr } = await startServer((s) => s.registerHandler(51, echoHandler));
    const client = newClient();
    await client.invoke(addr, makeRequest(51), 2000); // connect first
    const writes = vi.spyOn(net.Socket.prototype, 'write');
    const resps = await Promise.all(Array.from({ length: 100 }, (_, i) => client.invoke(addr, makeRequest(51, { v: String(i) }), 2000)));
    expect(resps.map((r) => r.extFields['echo'])).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    const serverPort = Number(addr.split(':')[1]);
    const sockets = writes.mock.contexts as net.Socket[];
    const clientWrites = sockets.filter((s) => s.remotePort === serverPort).length;
    const serverWrites = sockets.length - clientWrites;
    // The 100 requests leave in one write; the responses in one write per received chunk at most.
    expect(clientWrites).toBe(1);
    expect(serverWrites).toBeGreaterThanOrEqual(1);
    expect(serverWrites).toBeLessThanOrEqual(3);
  });
});

describe('remoting client', () => {
  it('fails a request with a typed timeout error that says the outcome is unknown', async () => {
    const { addr } = await startServer((s) => s.registerHandler(55, () => new Promise<undefined>(() => {})));
    const client = newClient();
    const started = Date.now();
    const err = await client.invoke(addr, makeRequest(55), 150).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemotingTimeoutError);
    expect((err as RemotingTimeoutError).code).toBe('ERR_REMOTING_TIMEOUT');
    expect((err as RemotingTimeoutError).outcomeUnknown).toBe(true);
    expect((err as Error).message).toMatch(/outcome is unknown/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(client.pendingRequests).toBe(0);
  });

  it('fails every pending request when the connection drops, then reconnects on the next call', async () => {
    let channel: RemotingChannel | undefined;
    const { addr } = await startServer((s) => {
      s.registerHandler(55, (_req, ch) => {
        channel = ch;
        return new Promise<undefined>(() => {});
      });
      s.registerHandler(51, echoHandler);
    });
    const client = newClient();
    const pending = [1, 2, 3].map(() => client.invoke(addr, makeRequest(55), 5000).catch((e: unknown) => e));
    await vi.waitFor(() => expect(channel?.inflightRequests).toBe(3));
    channel!.close('test drops the connection');
    const errors = await Promise.all(pending);
    for (const e of errors) {
      expect(e).toBeInstanceOf(RemotingConnectionError);
      expect((e as RemotingConnectionError).outcomeUnknown).toBe(true);
    }
    expect((await client.invoke(addr, makeRequest(51, { v: 'again' }), 2000)).extFields['echo']).toBe('again');
  });

  it('reports a refused connection as a connection error whose request was not sent', async () => {
    const client = newClient();
    const err = await client.invoke(`${HOST}:${PORTS + 99}`, makeRequest(51), 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemotingConnectionError);
    expect((err as RemotingConnectionError).outcomeUnknown).toBe(false);
    expect((err as Error).message).toMatch(/not sent/);
  });

  it('answers a server request it does not serve with REQUEST_CODE_NOT_SUPPORTED unless it was one-way, and survives a handler that throws', async () => {
    const answers: RemotingCommand[] = [];
    const serverRequest = (code: number, opaque: number, oneway: boolean, serializeType: SerializeType = SerializeType.JSON): Buffer => {
      const req = makeRequest(code, { consumerGroup: 'G' }, { oneway, serializeType });
      req.opaque = opaque;
      return encodeFrame(req);
    };
    const raw = net.createServer((sock) => {
      const decoder = new FrameDecoder();
      sock.on('error', () => undefined);
      sock.on('data', (d: Buffer) =>
        void decoder.push(d, (cmd) => {
          if (isResponse(cmd)) return void answers.push(cmd);
          // Before answering the client's own request, push one of each kind of request at it.
          sock.write(Buffer.concat([
            serverRequest(77, 100, false, SerializeType.ROCKETMQ),
            serverRequest(77, 101, true),
            serverRequest(40, 102, true),
            serverRequest(41, 103, false),
            serverRequest(42, 104, false),
            encodeFrame(makeResponse(cmd, 0, undefined, { echo: 'alive' })),
          ]));
        }),
      );
    });
    await new Promise<void>((resolve) => raw.listen(0, HOST, resolve));
    cleanups.push(() => new Promise<void>((resolve) => raw.close(() => resolve())));
    const rawAddr = `${HOST}:${(raw.address() as net.AddressInfo).port}`;
    const served: number[] = [];
    const client = newClient();
    client.registerRequestHandler(40, (cmd) => void served.push(cmd.opaque));
    client.registerRequestHandler(41, () => {
      throw new Error('handler bug');
    });
    client.registerRequestHandler(42, (cmd) => makeResponse(cmd, 0, undefined, { served: 'yes' }));
    expect((await client.invoke(rawAddr, makeRequest(51), 2000)).extFields['echo']).toBe('alive');
    await vi.waitFor(() => expect(answers).toHaveLength(3));
    await new Promise((r) => setTimeout(r, 50));
    expect(served).toEqual([102]);
    const byOpaque = answers.map((a) => ({ opaque: a.opaque, code: a.code, type: a.serializeType, remark: a.remark ?? '', ext: a.extFields })).sort((a, b) => a.opaque - b.opaque);
    expect(byOpaque).toMatchObject([
      { opaque: 100, code: 3, type: SerializeType.ROCKETMQ, remark: 'request type 77 not supported' },
      { opaque: 103, code: 1, type: SerializeType.JSON, remark: expect.stringMatching(/handler bug/) },
      { opaque: 104, code: 0, ext: { served: 'yes' } },
    ]);
  });
});
