// The server side of a TLS handshake on an accepted TCP connection, for servers that count a
// connection against their bounds from its first byte (remoting-server.ts): the handshake must end
// within a deadline and the outcome is reported exactly once. No client certificates: a TLS socket
// made outside a tls.Server is never told whether one verified, so none is asked for.
import type net from 'node:net';
import tls from 'node:tls';

export interface ServerHandshakeOptions {
  secureContext: tls.SecureContext;
  timeoutMs: number;
}

export interface ServerHandshakeHandlers {
  /** The handshake ended and the peer passed: the TLS socket is the connection from now on. */
  secure: (socket: tls.TLSSocket) => void;
  /** A broken or late handshake; the socket is being destroyed. */
  failed: (err: Error) => void;
  /** The connection is gone (after either outcome, or the peer left first). */
  closed: () => void;
}

/** Starts the handshake; returns the TLS socket (destroy it to abandon the handshake). */
export function serverHandshake(raw: net.Socket, o: ServerHandshakeOptions, h: ServerHandshakeHandlers): tls.TLSSocket {
  const socket = new tls.TLSSocket(raw, { isServer: true, secureContext: o.secureContext });
  let settled = false;
  const fail = (err: Error): void => {
    clearTimeout(timer);
    if (settled) return;
    settled = true;
    h.failed(err);
    socket.destroy();
  };
  const timer = setTimeout(() => fail(new Error(`no TLS handshake within ${o.timeoutMs} ms`)), o.timeoutMs);
  timer.unref();
  socket.once('close', () => {
    clearTimeout(timer);
    h.closed();
  });
  socket.on('error', fail);
  socket.once('secure', () => {
    clearTimeout(timer);
    settled = true;
    socket.off('error', fail);
    h.secure(socket);
  });
  return socket;
}
