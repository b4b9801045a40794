// One connection of the remoting client: the socket, its frame decoder and writer, and the
// connect timeout. The client (remoting-client.ts) owns the requests that ride on it.
import net from 'node:net';
import tls from 'node:tls';
import { FrameDecoder } from './frame-codec.js';
import { FrameWriter } from './frame-writer.js';
import type { RemotingCommand } from './remoting-command.js';

export class Connection {
  connected = false;
  closed = false;
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  readonly writer: FrameWriter;
  private readonly connectTimer: NodeJS.Timeout;

  constructor(
    readonly addr: string,
    host: string,
    port: number,
    connectTimeoutMs: number,
    maxFrameBytes: number,
    maxWriteBacklogBytes: number,
    tlsOptions: tls.ConnectionOptions | undefined,
    onCommand: (cmd: RemotingCommand, conn: Connection) => void,
    onClose: (conn: Connection, cause: Error | undefined) => void,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    // Writes made before the TLS handshake ends are buffered by the TLS socket.
    this.socket = tlsOptions === undefined ? net.connect({ host, port, noDelay: true }) : tls.connect({ ...tlsOptions, host, port });
    this.socket.setNoDelay(true);
    this.writer = new FrameWriter(this.socket, maxWriteBacklogBytes);
    let cause: Error | undefined;
    this.connectTimer = setTimeout(() => {
      this.socket.destroy(new Error(`connect to ${addr} timed out after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    this.connectTimer.unref();
    const handle = (cmd: RemotingCommand): void => onCommand(cmd, this);
    this.socket.on(tlsOptions === undefined ? 'connect' : 'secureConnect', () => {
      this.connected = true;
      clearTimeout(this.connectTimer);
    });
    this.socket.on('data', (chunk: Buffer) => {
      const err = this.decoder.push(chunk, handle);
      if (err !== undefined) this.socket.destroy(err);
    });
    this.socket.on('error', (err) => {
      cause = err;
    });
    this.socket.on('close', () => {
      this.closed = true;
      clearTimeout(this.connectTimer);
      this.writer.discard();
      this.decoder.reset();
      onClose(this, cause);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
