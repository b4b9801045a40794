// How a run starts the real processes: the NameServer command line, and each broker node's
// command line plus its broker.conf. Every Raft peer address a node gets is a proxy of the mesh
// (ClusterDb hands us the peer string), segments are small so a short run rolls over several
// files, and the flush mode is the run's choice (ASYNC_FLUSH unless --flush sync).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { assertBuilt, distDir } from '../../raft/tools/process/dist-dir.js';
import { brokerConfEntries, renderBrokerConf } from '../../src/devkit/broker-conf.js';
import { brokerScript, namesrvScript } from '../../src/devkit/processes.js';
import type { Launch, NodeLaunchInput } from '../db/cluster.js';

export type FlushMode = 'async' | 'sync';

const execFileAsync = promisify(execFile);

export interface LaunchSettings {
  /** The compiled tree holding the revert tool (raft/tools/revert-to-durable-cli.js). */
  distDir: string;
  flush: FlushMode;
  /** mappedFileSizeCommitLog: small, so segment roll-over happens during short runs. */
  segmentSizeBytes: number;
  /** maxMessageSize; the segment must hold it plus 64 KiB. */
  maxMessageSizeBytes: number;
  /** Extra environment of every broker (the unsafe test fault switch goes here). */
  brokerEnv: Record<string, string>;
  /** RMQ_LOG_LEVEL of the children. */
  logLevel: string;
  /** More broker.conf keys (they override the defaults above), e.g. fileReservedTime=0 for retention runs. */
  extraBrokerConf?: Record<string, string>;
}

export const DEFAULT_SEGMENT_SIZE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_MESSAGE_SIZE_BYTES = 256 * 1024;

/** The dist/ folder of this checkout (the kit's one resolver). */
export const defaultDistDir = distDir;

/** The storage's test-only lazy mode: it keeps what each file held when last synced. */
export const LAZY_FS_ENV = 'RMQ_UNSAFE_TEST_LAZY_FS';
/** LAZY_FS_ENV's unsafe variant: log syncs persist nothing (`--unsafe-test-fault lying-fsync`). */
export const LYING_FSYNC = 'lying-fsync';

/** The tool that drops a killed node's unsynced writes (run as a process, like the brokers). */
export function revertToDurableMain(distDir: string): string {
  return join(distDir, 'raft', 'tools', 'revert-to-durable-cli.js');
}

/**
 * Reverts every file under a killed node's data folder to what it held when last synced (a
 * power loss), by running the revert tool; resolves with the tool's JSON report.
 */
export async function revertToDurable(distDir: string, dataDir: string, seed: number): Promise<Record<string, unknown>> {
  const { stdout } = await execFileAsync(process.execPath, [revertToDurableMain(distDir), '--data-dir', dataDir, '--seed', String(seed), '--tear'], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Throws a message that says what to do when the compiled broker or NameServer is missing. */
export function assertDistBuilt(): void {
  assertBuilt(brokerScript(), namesrvScript());
}

export function launchNamesrv(settings: LaunchSettings, input: { port: number }): Launch {
  return {
    command: process.execPath,
    args: [namesrvScript(), '--port', String(input.port)],
    env: { RMQ_LOG_LEVEL: settings.logLevel },
  };
}

export function brokerConfText(settings: LaunchSettings, n: NodeLaunchInput): string {
  const entries = brokerConfEntries({
    clusterName: 'JepsenCluster',
    brokerName: n.group,
    namesrvAddr: n.namesrvAddr,
    listenPort: n.brokerPort,
    storePathRootDir: join(n.dataDir, 'store-root'),
    flushDiskType: settings.flush === 'sync' ? 'SYNC_FLUSH' : 'ASYNC_FLUSH',
    autoCreateTopicEnable: true,
    segmentSizeBytes: settings.segmentSizeBytes,
    peers: n.peers,
    selfId: n.id,
    ...(n.frontDoorPorts !== undefined ? { frontDoorPorts: n.frontDoorPorts } : {}),
    extra: { autoCreateSubscriptionGroup: 'true', maxMessageSize: String(settings.maxMessageSizeBytes), ...(n.joining === true ? { dLegerJoining: 'true' } : {}), ...settings.extraBrokerConf },
  });
  return renderBrokerConf(entries, `written by the jepsen-like harness for ${n.id}`);
}
export function launchNode(settings: LaunchSettings, n: NodeLaunchInput): Launch {
  return {
    command: process.execPath,
    args: [brokerScript(), '-c', n.confPath],
    env: { RMQ_LOG_LEVEL: settings.logLevel, ...settings.brokerEnv },
    confText: brokerConfText(settings, n),
    // Ready when clients can connect; the Raft port opens in the same start-up.
    readyPorts: [n.brokerPort, n.raftPort],
  };
}
