// `rmq cluster add-node` / `remove-node` as functions: grow or shrink one Raft group of a local
// cluster while it runs, the documented way (docs/operations.md, "Replacing a node"). Adding
// starts a new broker process with a fresh id, data folder and ports as a joining learner
// (dLegerJoining=true), adds it through the leader (RAFT_CHANGE_MEMBERS), waits until it has
// applied what the leader had committed, promotes it, and records it in cluster.json. Removing
// takes the node out through the leader, stops its process (SIGTERM) and drops it from
// cluster.json; its data folder is kept.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from '../client/index.js';
import { parseProperties } from '../broker/broker-config.js';
import { PollError, pollUntil } from '../common/poll.js';
import { findFreeBlock } from '../../raft/tools/free-ports.js';
import { renderBrokerConf } from './broker-conf.js';
import { writeClusterFile, type ClusterFile, type ClusterGroupInfo, type ClusterNodeInfo } from './cluster-file.js';
import { findNode, launchBroker } from './cluster-launcher.js';
import { clusterAdmin } from './cluster-admin.js';
import { DevkitError } from './devkit-errors.js';
import { isOurProcess, stopProcesses } from './processes.js';
import { caughtUp } from './rolling-restart.js';

export interface MemberChangeOptions {
  /** The group (default: the first one). */
  brokerName?: string;
  /** How long each step may take (start, catch-up, each change). */
  timeoutMs: number;
  logLevel?: string;
  say?: (line: string) => void;
}

export interface AddNodeResult {
  brokerName: string;
  node: ClusterNodeInfo;
  voters: string[];
  learners: string[];
  /** From the start of the process until the promotion was in force. */
  tookMs: number;
}

const POLL_MS = 200;
/** Changes refused for a passing reason: retried until the step's time is up. */
const PASSING = /change-in-progress|learner-behind|not.?leader|no leader|transferring/i;

function groupOf(file: ClusterFile, brokerName: string | undefined): ClusterGroupInfo {
  const g = brokerName === undefined ? file.groups[0] : file.groups.find((x) => x.brokerName === brokerName);
  if (g === undefined) throw new DevkitError(`no group ${brokerName ?? ''} in ${file.dir}; known: ${file.groups.map((x) => x.brokerName).join(', ')}`, 'ERR_DEVKIT_UNKNOWN_NODE');
  return g;
}

/**
 * The next id n<k> of the group: above every id in cluster.json, and never one a removed node
 * had (its data folder is kept): an id is never reused.
 */
function nextId(file: ClusterFile, g: ClusterGroupInfo): string {
  const used = g.nodes.map((n) => Number(/^n(\d+)$/.exec(n.id)?.[1] ?? -1));
  let k = Math.max(-1, ...used) + 1;
  while (existsSync(join(file.dir, g.brokerName, `n${k}`))) k++;
  return `n${k}`;
}

async function withAdmin<T>(file: ClusterFile, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = clusterAdmin(file, 3000);
  await admin.start();
  try {
    return await fn(admin);
  } finally {
    await admin.shutdown();
  }
}

/** One change through the leader, retried while refused for a passing reason (the kit's one poll). */
async function change(admin: Admin, g: ClusterGroupInfo, kind: 'add-learner' | 'promote' | 'remove', nodeId: string, timeoutMs: number, address?: string): Promise<{ voters: string[]; learners: string[] }> {
  let refused: unknown;
  const attempt = async (): Promise<{ voters: string[]; learners: string[] } | undefined> => {
    try {
      return await admin.changeMembers(g.brokerName, kind, nodeId, address, Math.min(15_000, timeoutMs));
    } catch (err) {
      if (!PASSING.test((err as Error).message)) throw err;
      refused = err;
      return undefined;
    }
  };
  return pollUntil(`${kind} ${nodeId}`, timeoutMs, attempt, { intervalMs: POLL_MS }).catch((err: unknown) => {
    const cause = err instanceof PollError && refused !== undefined ? refused : err;
    throw new DevkitError(`${g.brokerName}: ${kind} ${nodeId} failed: ${(cause as Error).message}`, 'ERR_DEVKIT_MEMBERSHIP', { cause });
  });
}

/** The new node's broker.conf: a running member's, with this node's id, ports, folder and joining flag. */
function joinerConf(g: ClusterGroupInfo, id: string, ports: { listen: number; raft: number; metrics: number }, dataDir: string): string {
  const template = parseProperties(readFileSync(g.nodes[0]!.confPath, 'utf8'));
  const entries = Object.fromEntries(template);
  // Every member it can reach and itself; one would do (it learns the rest from the leader).
  entries['dLegerPeers'] = [...g.nodes.map((n) => `${n.id}-${n.raftAddr}`), `${id}-127.0.0.1:${ports.raft}`].join(';');
  entries['dLegerSelfId'] = id;
  entries['dLegerJoining'] = 'true';
  entries['listenPort'] = String(ports.listen);
  entries['storePathRootDir'] = dataDir;
  entries['metricsPort'] = String(ports.metrics);
  delete entries['grpcListenPort'];
  delete entries['frontDoorEnable'];
  delete entries['frontDoorPorts'];
  delete entries['dLegerPreferredLeaderId'];
  return renderBrokerConf(entries, `written by 'rmq cluster add-node'; node ${id} of ${g.brokerName}`);
}

export async function addNode(file: ClusterFile, o: MemberChangeOptions): Promise<AddNodeResult> {
  const say = o.say ?? (() => {});
  if (file.frontDoors === true) throw new DevkitError('add-node does not support a cluster started with --front-doors (every node holds a door per member)', 'ERR_DEVKIT_USAGE');
  const g = groupOf(file, o.brokerName);
  const id = nextId(file, g);
  const base = await findFreeBlock(3);
  const ports = { listen: base, raft: base + 1, metrics: base + 2 };
  const dataDir = join(file.dir, g.brokerName, id);
  const confPath = join(file.dir, `${g.brokerName}-${id}.conf`);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(confPath, joinerConf(g, id, ports, dataDir));
  const node: ClusterNodeInfo = { id, pid: 0, brokerAddr: `127.0.0.1:${ports.listen}`, raftAddr: `127.0.0.1:${ports.raft}`, metricsAddr: `127.0.0.1:${ports.metrics}`, dataDir, confPath, logPath: join(file.dir, `${g.brokerName}-${id}.log`) };
  const started = Date.now();
  launchBroker(file, node, o.logLevel);
  // Recorded at once: 'cluster down' stops it whatever happens next.
  g.nodes.push(node);
  writeClusterFile(file.dir, file);
  say(`${g.brokerName}/${id}: started (pid ${node.pid}, ${node.brokerAddr}, raft ${node.raftAddr}) as a joining learner`);
  return withAdmin(file, async (admin) => {
    await change(admin, g, 'add-learner', id, o.timeoutMs, node.raftAddr);
    say(`${g.brokerName}/${id}: added as a learner; catching up`);
    await caughtUp(admin, g, node, o.timeoutMs, `${g.brokerName}/${id}`).catch((err: unknown) => {
      throw new DevkitError(`${g.brokerName}/${id} did not catch up within ${o.timeoutMs} ms; it stays a learner (see ${node.logPath})`, 'ERR_DEVKIT_MEMBERSHIP', { cause: err });
    });
    const m = await change(admin, g, 'promote', id, o.timeoutMs);
    say(`${g.brokerName}/${id}: promoted to voter; voters ${m.voters.join(',')}`);
    return { brokerName: g.brokerName, node, voters: m.voters, learners: m.learners, tookMs: Date.now() - started };
  });
}

export interface RemoveNodeResult {
  brokerName: string;
  nodeId: string;
  voters: string[];
  learners: string[];
  stopped: string;
}

export async function removeNode(file: ClusterFile, nodeId: string, o: MemberChangeOptions): Promise<RemoveNodeResult> {
  const say = o.say ?? (() => {});
  const g = groupOf(file, o.brokerName);
  const node = findNode(file, g.brokerName, nodeId);
  const others = { ...g, nodes: g.nodes.filter((n) => n.id !== nodeId) };
  if (others.nodes.length === 0) throw new DevkitError(`${g.brokerName}/${nodeId} is the group's last node; stop the cluster instead`, 'ERR_DEVKIT_USAGE');
  const m = await withAdmin(file, (admin) => change(admin, g, 'remove', nodeId, o.timeoutMs));
  say(`${g.brokerName}/${nodeId}: removed; voters ${m.voters.join(',')}`);
  const [stopped] = isOurProcess(node.pid, [node.confPath]) ? await stopProcesses([{ pid: node.pid, markers: [node.confPath] }], 15_000) : ['not running' as const];
  g.nodes = others.nodes;
  writeClusterFile(file.dir, file);
  return { brokerName: g.brokerName, nodeId, voters: m.voters, learners: m.learners, stopped: String(stopped) };
}
