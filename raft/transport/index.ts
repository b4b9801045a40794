// Public surface of the Raft TCP transport.
export { TransportError, type TransportErrorCode } from './errors.js';
export { decodeHello, decodeMessage, encodeHello, encodeMessage, PROTOCOL_VERSION } from './frame-codec.js';
export { FrameReader } from './frame-reader.js';
export type { PeerLinkStats } from './peer-link.js';
export { TcpTransport, type PeerAddress, type PeerTls, type TcpTransportOptions, type TransportStats } from './tcp-transport.js';
