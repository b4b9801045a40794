// The broker's TLS material, read once at start from the PEM files broker.conf names: the client
// port's server options (tlsEnable), the options this node dials other brokers' client ports with
// (a follower relaying a write to its leader), the options it dials TLS NameServers with
// (namesrvTlsEnable), the Raft peers' mutual TLS (raftTlsEnable), and the gRPC endpoint's
// (grpcTlsEnable).
// A file that cannot be read stops the start with a message naming the key.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import type { PeerTls } from '../../raft/index.js';
import { BrokerConfigError, type BrokerConfig } from './broker-config.js';

export interface BrokerTls {
  /** For the client port's RemotingServer; undefined: plain TCP. */
  server?: TlsOptions;
  /** For this node's RemotingClients to other brokers (they serve TLS when this one does). */
  client?: ConnectionOptions;
  /** For this node's RemotingClients to the NameServers (namesrvTlsEnable); undefined: plain TCP. */
  namesrv?: ConnectionOptions;
  /** For the Raft transport; undefined: plain TCP. */
  raft?: PeerTls;
  /** For the gRPC endpoint (grpcTlsEnable); undefined: plain HTTP/2. */
  grpc?: { cert: Buffer; key: Buffer };
}

/**
 * The TLS options of a RemotingClient that talks to both the NameServers and other brokers' client
 * ports (the disk hand-off asks both): each kind of address gets the TLS its servers speak.
 */
export function mixedClientTls(tls: BrokerTls, namesrvAddrs: readonly string[]): { tls?: ConnectionOptions; tlsFor?: (addr: string) => boolean } {
  if (tls.client === undefined && tls.namesrv === undefined) return {};
  const isNamesrv = (addr: string): boolean => namesrvAddrs.includes(addr);
  // One option set serves both kinds: the CA (tlsCaPath) trusts either, the certificate is only offered.
  return { tls: tls.client ?? tls.namesrv!, tlsFor: (addr) => (isNamesrv(addr) ? tls.namesrv !== undefined : tls.client !== undefined) };
}

function pem(config: Readonly<BrokerConfig>, key: 'tlsCertPath' | 'tlsKeyPath' | 'tlsCaPath'): Buffer | undefined {
  const path = config[key];
  if (path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new BrokerConfigError(key, `broker.conf: ${key}=${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function loadBrokerTls(config: Readonly<BrokerConfig>): BrokerTls {
  if (!config.tlsEnable && !config.raftTlsEnable && !config.namesrvTlsEnable && !config.grpcTlsEnable) return {};
  const ca = pem(config, 'tlsCaPath');
  const out: BrokerTls = {};
  if (config.namesrvTlsEnable) out.namesrv = ca !== undefined ? { ca } : {};
  if (!config.tlsEnable && !config.raftTlsEnable && !config.grpcTlsEnable) return out;
  const cert = pem(config, 'tlsCertPath')!;
  const key = pem(config, 'tlsKeyPath')!;
  if (config.tlsEnable) {
    out.server = { cert, key };
    out.client = { ...(ca !== undefined ? { ca } : {}), cert, key };
  }
  if (config.raftTlsEnable) out.raft = { cert, key, ca: ca! };
  if (config.grpcTlsEnable) out.grpc = { cert, key };
  return out;
}
