// The broker.conf keys of the bounds this broker keeps under hostile clients and a filling disk:
// the remoting server's connection limits (see protocol/connection-limits.ts; the NameServer
// uses their defaults) and the used-space ratio above which writes are refused. Kept apart from
// broker-config.ts so that file only spreads them in.

import {
  DEFAULT_FRAME_READ_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INBOUND_FRAME_BUDGET_BYTES,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  DEFAULT_SERVER_MAX_WRITE_BACKLOG_BYTES,
  DEFAULT_WRITE_BACKLOG_PAUSE_BYTES,
  type ConnectionLimits,
} from '../protocol/connection-limits.js';

export interface ServerLimitsConfig {
  /** RocketMQ's key: a client connection silent this long is closed. */
  serverChannelMaxIdleTimeSeconds: number;
  serverFrameReadTimeoutSeconds: number;
  serverMaxConnectionsPerAddress: number;
  serverMaxConnections: number;
  serverInboundFrameBudgetBytes: number;
  serverWriteBacklogPauseBytes: number;
  serverMaxWriteBacklogBytes: number;
  /** Percent of the store's file system used at or above which writes are refused (RocketMQ: 90). */
  diskSpaceWarningLevelRatio: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimitsConfig> = {
  serverChannelMaxIdleTimeSeconds: DEFAULT_IDLE_TIMEOUT_MS / 1000,
  serverFrameReadTimeoutSeconds: DEFAULT_FRAME_READ_TIMEOUT_MS / 1000,
  serverMaxConnectionsPerAddress: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
  serverMaxConnections: DEFAULT_MAX_CONNECTIONS,
  serverInboundFrameBudgetBytes: DEFAULT_INBOUND_FRAME_BUDGET_BYTES,
  serverWriteBacklogPauseBytes: DEFAULT_WRITE_BACKLOG_PAUSE_BYTES,
  serverMaxWriteBacklogBytes: DEFAULT_SERVER_MAX_WRITE_BACKLOG_BYTES,
  diskSpaceWarningLevelRatio: 90,
};

type IntParser = (key: string, value: string, min: number, max: number) => number;
type LimitSetter = (c: ServerLimitsConfig, value: string, key: string) => void;

/** The setters of these keys, reading integers with broker-config's parser. */
export function serverLimitSetters(int: IntParser): Record<keyof ServerLimitsConfig, LimitSetter> {
  return {
    serverChannelMaxIdleTimeSeconds: (c, v, k) => { c.serverChannelMaxIdleTimeSeconds = int(k, v, 1, 86_400); },
    serverFrameReadTimeoutSeconds: (c, v, k) => { c.serverFrameReadTimeoutSeconds = int(k, v, 1, 3_600); },
    serverMaxConnectionsPerAddress: (c, v, k) => { c.serverMaxConnectionsPerAddress = int(k, v, 1, 1_000_000); },
    serverMaxConnections: (c, v, k) => { c.serverMaxConnections = int(k, v, 1, 1_000_000); },
    // At least one maximum frame (16 MiB) plus headroom, or a legal big frame could never pass.
    serverInboundFrameBudgetBytes: (c, v, k) => { c.serverInboundFrameBudgetBytes = int(k, v, 32 * MIB, 2 ** 31 - 1); },
    serverWriteBacklogPauseBytes: (c, v, k) => { c.serverWriteBacklogPauseBytes = int(k, v, 64 * 1024, 1024 * MIB); },
    serverMaxWriteBacklogBytes: (c, v, k) => { c.serverMaxWriteBacklogBytes = int(k, v, 16 * MIB, 2 ** 31 - 1); },
    // 1 is allowed on purpose: it makes any real disk look full (how tests refuse writes).
    diskSpaceWarningLevelRatio: (c, v, k) => { c.diskSpaceWarningLevelRatio = int(k, v, 1, 99); },
  };
}

/** A cross-key mistake in these settings, as [key, message], or undefined. */
export function serverLimitsProblem(c: ServerLimitsConfig): [keyof ServerLimitsConfig, string] | undefined {
  if (c.serverWriteBacklogPauseBytes > c.serverMaxWriteBacklogBytes) {
    return ['serverWriteBacklogPauseBytes', `broker.conf: serverWriteBacklogPauseBytes=${c.serverWriteBacklogPauseBytes} must not exceed serverMaxWriteBacklogBytes=${c.serverMaxWriteBacklogBytes}`];
  }
  return undefined;
}

/** The remoting server's options from these settings. */
export function connectionLimitsOf(c: ServerLimitsConfig): ConnectionLimits {
  return {
    idleTimeoutMs: c.serverChannelMaxIdleTimeSeconds * 1000,
    frameReadTimeoutMs: c.serverFrameReadTimeoutSeconds * 1000,
    maxConnectionsPerAddress: c.serverMaxConnectionsPerAddress,
    maxConnections: c.serverMaxConnections,
    inboundFrameBudgetBytes: c.serverInboundFrameBudgetBytes,
    writeBacklogPauseBytes: c.serverWriteBacklogPauseBytes,
    maxWriteBacklogBytes: c.serverMaxWriteBacklogBytes,
  };
}
