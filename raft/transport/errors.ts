// Typed operating errors of the Raft transport. Each code is stable and means one thing; a
// peer sending garbage or pretending to be someone else is an operating error, never a crash.
import { CodedError } from '../coded-error.js';

export type TransportErrorCode =
  /** A frame whose length, header or entry table does not decode. */
  | 'ERR_TRANSPORT_FRAME_MALFORMED'
  /** A frame longer than the configured maximum (a corrupt length prefix or a hostile peer). */
  | 'ERR_TRANSPORT_FRAME_TOO_LARGE'
  /** A connection whose hello or messages name a node that is not a configured peer. */
  | 'ERR_TRANSPORT_UNKNOWN_PEER'
  /** A hello that does not match this node (wrong protocol version or wrong target id). */
  | 'ERR_TRANSPORT_BAD_HELLO'
  /** A peer that did not prove it holds the group's secret (or none when one is required). */
  | 'ERR_TRANSPORT_PEER_AUTH';

export class TransportError extends CodedError<TransportErrorCode> {}
