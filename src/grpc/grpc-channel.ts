// A gRPC call seen as the remoting channel the broker's processors and long polling expect: its
// peer address (born host of sent messages) and whether it is over. Nothing is ever sent on it.

import { SerializeType } from '../protocol/remoting-command.js';
import type { RemotingChannel } from '../protocol/remoting-server.js';

let nextId = -1;

export interface CallChannel extends RemotingChannel {
  /** Marks the call over: long-polling holds registered for it are dropped at the next sweep. */
  finish(): void;
}

/** "ipv4:1.2.3.4:5", "[::1]:5" or "1.2.3.4:5" → "1.2.3.4:5" (the form processors split). */
function plainPeer(peer: string): string {
  return peer.replace(/^ipv[46]:/, '');
}

export function callChannel(peer: string): CallChannel {
  let closed = false;
  return {
    // Negative ids never collide with the remoting server's channels.
    id: nextId--,
    remoteAddress: plainPeer(peer),
    get closed() {
      return closed;
    },
    inflightRequests: 0,
    serializeType: SerializeType.JSON,
    send: () => false,
    sendOneway: () => false,
    close: () => {
      closed = true;
    },
    finish: () => {
      closed = true;
    },
  };
}
