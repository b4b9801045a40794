// The `db` of a run: a NameServer and one or more Raft groups of broker nodes as OS processes,
// each with its own data folder, every Raft link (and every broker → NameServer link) through its
// own proxy, on the kit's one port plan (src/devkit/port-plan.ts). With one group the nodes are
// n0, n1, ...; with several, the group's letter and the position: a0, a1, a2 of broker-a, b0, ...
// (Raft ids allow only letters, digits and _). What a node runs is not decided here: the caller passes launchers that turn a node's
// ports, peer string and folders into a command line and a broker.conf text, so the same db
// drives the real broker, or a stand-in process in tests.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CLIENTS } from '../net/partition-shapes.js';
import { ProxyMesh } from '../net/proxy-mesh.js';
import { waitForPort } from '../net/wait-for-port.js';
import { DbError } from './db-errors.js';
import { registerExitHook } from '../../raft/tools/process/exit-hooks.js';
import { emptyDisk, fillDisk, mountSmallFs, unmountSmallFs } from './node-fs.js';
import type { NodeControl, NodeStatus } from './node-control.js';
import type { ClusterPortPlan, PortPlan } from '../../src/devkit/port-plan.js';
import { brokerNameOf } from '../../src/devkit/cluster-layout.js';
import { ProcessControl } from '../../raft/tools/process/process-control.js';

export interface ClusterNode {
  id: string;
  /** The node's position in its group. */
  index: number;
  /** The Raft group / brokerName. */
  group: string;
  raftPort: number;
  brokerPort: number;
  pid: number | undefined;
  dataDir: string;
  confPath: string;
}

/** The cluster as the rest of the harness sees it (also written to `<runDir>/cluster.json`). */
export interface Cluster {
  namesrv: { pid: number | undefined; addr: string };
  nodes: ClusterNode[];
}

export interface NodeLaunchInput {
  id: string;
  index: number;
  /** The Raft group / brokerName. */
  group: string;
  raftPort: number;
  brokerPort: number;
  /** This node's dLegerPeers: its own real address, proxy addresses for the others. */
  peers: string;
  /** The NameServer address this node must use (a proxy when broker links are proxied). */
  namesrvAddr: string;
  /** With front doors: `frontDoorPorts`, the port this node serves each door of its group on. */
  frontDoorPorts?: string;
  dataDir: string;
  confPath: string;
  runDir: string;
  /** A node added to the running group (addNode): it starts as a joining learner (dLegerJoining). */
  joining?: boolean;
}

export interface Launch {
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Written to the node's confPath before it starts. */
  confText?: string;
  /** Ports that must accept connections before the process counts as up (default: its main port). */
  readyPorts?: number[];
}

export interface ClusterDbOptions {
  runDir: string;
  /** Nodes per group (at most the plan's node slots). */
  nodeCount?: number;
  /** The brokerName of a one-group cluster (default broker-a); several groups are broker-a, broker-b, ... */
  group?: string;
  /** A one-group plan, or a cluster plan whose groups all start (it must have proxies). */
  ports: PortPlan | ClusterPortPlan;
  /** Seeds the proxies; the nemeses have their own. */
  seed: number;
  launchNamesrv: (input: { port: number; runDir: string }) => Launch;
  launchNode: (input: NodeLaunchInput) => Launch;
  /** Route each broker's NameServer traffic through a proxy so it can be cut (default true). */
  proxyNamesrvLinks?: boolean;
  /**
   * Drops a killed node's unsynced writes: reverts every file under its data folder to what was
   * durable (the storage's test-only lazy mode keeps that). Without it there is no power loss.
   */
  revertToDurable?: (dataDir: string) => Promise<Record<string, unknown>>;
  /**
   * Gives every node a tmpfs of this many bytes as its data folder (needs root), so that the
   * disk-full nemesis can fill one node's disk without touching the others.
   */
  nodeFsBytes?: number;
  /**
   * Front doors (docs/operations.md): every node serves a door per node of its group, on the
   * plan's door ports (the plan must have them); with client proxies each door port gets one too
   * (link `clients -> <node>/door<e>`).
   */
  frontDoors?: boolean;
  /** Give the workload's clients a proxy per broker so a client can be partitioned (default true). */
  proxyClientLinks?: boolean;
  readyTimeoutMs?: number;
  /**
   * Port slots of the plan beyond nodeCount (indexes nodeCount..nodeCount+extraNodeSlots-1) that
   * addNode may give to nodes added while the run goes on (the membership nemesis).
   */
  extraNodeSlots?: number;
  /** Extra files (e.g. a node's own log files in its data folder) copied into `<runDir>/logs` at teardown. */
  extraLogFiles?: (node: ClusterNode) => string[];
}

const NAMESRV = 'namesrv';

/** The cluster plan behind a one-group view, or the plan itself. */
function clusterPlanOf(ports: PortPlan | ClusterPortPlan): ClusterPortPlan {
  return 'group' in ports ? ports : ports.cluster;
}

interface PlannedNode extends ClusterNode {
  groupIndex: number;
}

/** `n0:P0;n1:P1;...`: the ports node `n` serves its group's doors on. */
function doorPortsOf(plan: ClusterPortPlan, nodes: readonly PlannedNode[], n: PlannedNode): string {
  const group = nodes.filter((x) => x.group === n.group);
  return group.map((door) => `${door.id}:${plan.doorPort(n.groupIndex, n.index, door.index)}`).join(';');
}
/** The variable a Raft log reads its boot id from instead of the kernel's (see docs/raft.md). */
const BOOT_ID_ENV = 'RAFT_BOOT_ID';

const DEFAULT_READY_TIMEOUT_MS = 30_000;

export class ClusterDb implements NodeControl {
  private readonly launches = new Map<string, Launch>();
  private tornDown = false;
  /** Nodes stopped for good (removed from the group): no longer in nodeIds, never restarted. */
  private readonly retired = new Set<string>();
  private addedCount = 0;

  private constructor(
    private readonly options: ClusterDbOptions,
    readonly processes: ProcessControl,
    readonly mesh: ProxyMesh,
    private readonly nodes: PlannedNode[],
    /** Undoes the nodes' own file systems (a no-op without them). */
    private readonly unmount: () => void = () => {},
  ) {}

  /** The simulated boot id each node runs with since its last power loss. */
  private readonly bootIdOf = new Map<string, string>();
  private bootCount = 0;

  /** Builds proxies, starts the NameServer and every node, and waits until each accepts connections. */
  static async setup(options: ClusterDbOptions): Promise<ClusterDb> {
    const nodeCount = options.nodeCount ?? 3;
    const mounted: string[] = [];
    const unregisterUnmount = registerExitHook(() => mounted.forEach(unmountSmallFs));
    assert(nodeCount >= 1, 'a cluster needs a node');
    const plan = clusterPlanOf(options.ports);
    assert(nodeCount <= plan.nodes, `${nodeCount} nodes per group do not fit a plan of ${plan.nodes}`);
    const groupIndexes = 'group' in options.ports ? Array.from({ length: plan.groups }, (_, g) => g) : [options.ports.groupIndex];
    const groupName = (g: number): string => (groupIndexes.length === 1 ? (options.group ?? 'broker-a') : brokerNameOf(g));
    mkdirSync(options.runDir, { recursive: true });
    const nodes: PlannedNode[] = groupIndexes.flatMap((g) =>
      Array.from({ length: nodeCount }, (_, i) => {
        const group = groupName(g);
        const id = groupIndexes.length === 1 ? `n${i}` : `${String.fromCharCode(97 + g)}${i}`;
        const dataDir = join(options.runDir, 'nodes', id);
        mkdirSync(dataDir, { recursive: true });
        if (options.nodeFsBytes !== undefined) {
          mountSmallFs(dataDir, options.nodeFsBytes);
          mounted.push(dataDir);
        }
        return { id, index: i, group, groupIndex: g, raftPort: plan.raftPort(g, i), brokerPort: plan.brokerPort(g, i), pid: undefined, dataDir, confPath: join(dataDir, 'broker.conf') };
      }),
    );
    const processes = new ProcessControl(options.runDir);
    let mesh: ProxyMesh | undefined;
    try {
      mesh = await ProxyMesh.create({
        nodes: nodes.map((n) => ({ id: n.id, port: n.raftPort, group: n.group })),
        proxyPort: (from, to) => plan.raftProxyPort(nodes[from]!.groupIndex, nodes[from]!.index, nodes[to]!.index),
        seed: options.seed,
      });
      const proxyNamesrv = options.proxyNamesrvLinks ?? true;
      if (proxyNamesrv) {
        for (const n of nodes) await mesh.addLink(n.id, NAMESRV, plan.namesrvPort, plan.namesrvProxyPort(n.groupIndex, n.index));
      }
      if (options.proxyClientLinks ?? true) {
        for (const n of nodes) await mesh.addLink(CLIENTS, n.id, n.brokerPort, plan.clientProxyPort(n.groupIndex, n.index));
        // Front doors: the clients reach each door port of a node through a proxy of its own.
        if (options.frontDoors === true) {
          for (const n of nodes) {
            for (let e = 0; e < nodeCount; e++) await mesh.addLink(CLIENTS, `${n.id}/door${e}`, plan.doorPort(n.groupIndex, n.index, e), plan.doorProxyPort(n.groupIndex, n.index, e));
          }
        }
      }
      const db = new ClusterDb(options, processes, mesh, nodes, () => {
        mounted.forEach(unmountSmallFs);
        unregisterUnmount();
      });
      await db.startNamesrv();
      for (const n of nodes) {
        const namesrvPort = proxyNamesrv ? plan.namesrvProxyPort(n.groupIndex, n.index) : plan.namesrvPort;
        const launch = options.launchNode({
          id: n.id,
          index: n.index,
          group: n.group,
          raftPort: n.raftPort,
          brokerPort: n.brokerPort,
          peers: mesh.peersFor(n.id),
          namesrvAddr: `127.0.0.1:${namesrvPort}`,
          ...(options.frontDoors === true ? { frontDoorPorts: doorPortsOf(plan, nodes, n) } : {}),
          dataDir: n.dataDir,
          confPath: n.confPath,
          runDir: options.runDir,
        });
        if (launch.confText !== undefined) writeFileSync(n.confPath, launch.confText);
        db.launches.set(n.id, launch);
        await processes.start({ name: n.id, command: launch.command, args: launch.args, cwd: n.dataDir, ...(launch.env ? { env: launch.env } : {}) });
      }
      await Promise.all(nodes.map((n) => db.waitReady(n.id)));
      db.writeClusterFile();
      return db;
    } catch (err) {
      await processes.close();
      await mesh?.close();
      mounted.forEach(unmountSmallFs);
      unregisterUnmount();
      throw err;
    }
  }

  get nodeIds(): string[] {
    return this.nodes.filter((n) => !this.retired.has(n.id)).map((n) => n.id);
  }

  /**
   * Starts one more node in a spare port slot, with a fresh id and data folder, as a joining
   * learner told only `peers` (its own entry is added here). Its Raft and NameServer links are
   * direct (not proxied); the caller adds it to the group. Undefined when no slot is free.
   */
  async addNode(peers: string): Promise<ClusterNode | undefined> {
    const o = this.options;
    const plan = clusterPlanOf(o.ports);
    // Membership changes run on a one-group cluster: the joiner takes a spare slot of that group.
    const groupIndex = this.nodes[0]!.groupIndex;
    assert(this.groups.length === 1, 'addNode needs a one-group cluster');
    const first = o.nodeCount ?? 3;
    const busy = new Set(this.nodes.filter((n) => !this.retired.has(n.id)).map((n) => n.index));
    let index = -1;
    for (let i = first; i < Math.min(first + (o.extraNodeSlots ?? 0), plan.nodes) && index < 0; i++) if (!busy.has(i)) index = i;
    if (index < 0) return undefined;
    const id = `n${first + this.addedCount++}`;
    const dataDir = join(o.runDir, 'nodes', id);
    mkdirSync(dataDir, { recursive: true });
    const group = this.nodes[0]!.group;
    const n: PlannedNode = { id, index, group, groupIndex, raftPort: plan.raftPort(groupIndex, index), brokerPort: plan.brokerPort(groupIndex, index), pid: undefined, dataDir, confPath: join(dataDir, 'broker.conf') };
    const launch = o.launchNode({
      id, index, group, raftPort: n.raftPort, brokerPort: n.brokerPort,
      peers: `${peers};${id}-127.0.0.1:${n.raftPort}`, namesrvAddr: `127.0.0.1:${plan.namesrvPort}`,
      dataDir, confPath: n.confPath, runDir: o.runDir, joining: true,
    });
    if (launch.confText !== undefined) writeFileSync(n.confPath, launch.confText);
    this.launches.set(id, launch);
    this.nodes.push(n);
    await this.processes.start({ name: id, command: launch.command, args: launch.args, cwd: dataDir, ...(launch.env ? { env: launch.env } : {}) });
    await this.waitReady(id);
    return n;
  }

  /** Stops a node removed from the group for good (SIGKILL): it leaves nodeIds, so nothing restarts it. */
  async retireNode(nodeId: string): Promise<void> {
    const n = this.node(nodeId);
    this.retired.add(n.id);
    if (this.processes.status(n.id) !== 'exited') await this.processes.kill(n.id, 'SIGKILL');
  }

  /** The brokerNames of the groups, in plan order. */
  get groups(): string[] {
    return [...new Set(this.nodes.map((n) => n.group))];
  }

  /** The node ids of one group. */
  groupNodeIds(group: string): string[] {
    return this.nodes.filter((n) => n.group === group && !this.retired.has(n.id)).map((n) => n.id);
  }

  cluster(): Cluster {
    const live = (name: string): number | undefined => (this.processes.has(name) && this.processes.status(name) !== 'exited' ? this.processes.pid(name) : undefined);
    return {
      namesrv: { pid: live(NAMESRV), addr: `127.0.0.1:${this.options.ports.namesrvPort}` },
      nodes: this.nodes.map((n) => ({ ...n, pid: live(n.id) })),
    };
  }

  /**
   * Where a workload client dials for a broker address the NameServer gave: that node's client
   * proxy, or the address itself (no client proxies, or an address that is not a node's).
   */
  clientDialAddress(addr: string): string {
    if (!(this.options.proxyClientLinks ?? true)) return addr;
    const plan = clusterPlanOf(this.options.ports);
    const n = this.nodes.find((x) => addr === `127.0.0.1:${x.brokerPort}`);
    // Nodes added while the run goes (addNode) have no client proxy.
    if (n !== undefined && n.index >= (this.options.nodeCount ?? 3)) return addr;
    if (n !== undefined) return `127.0.0.1:${plan.clientProxyPort(n.groupIndex, n.index)}`;
    if (this.options.frontDoors === true) {
      const per = this.nodes.filter((x) => x.groupIndex === 0).length;
      for (const x of this.nodes) {
        for (let e = 0; e < per; e++) if (addr === `127.0.0.1:${plan.doorPort(x.groupIndex, x.index, e)}`) return `127.0.0.1:${plan.doorProxyPort(x.groupIndex, x.index, e)}`;
      }
    }
    return addr;
  }

  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    assert(n !== undefined, `unknown node ${id}`);
    return n;
  }

  status(nodeId: string): NodeStatus {
    return this.processes.status(this.node(nodeId).id);
  }

  pidOf(nodeId: string): number | undefined {
    const name = this.node(nodeId).id;
    return this.processes.status(name) === 'exited' ? undefined : this.processes.pid(name);
  }

  async kill(nodeId: string): Promise<void> {
    await this.processes.kill(this.node(nodeId).id, 'SIGKILL');
  }

  /** Present when nodes have a file system of their own (see NodeControl.fillDisk). */
  get fillDisk(): ((nodeId: string, leaveFreeBytes: number) => Promise<Record<string, unknown>>) | undefined {
    if (this.options.nodeFsBytes === undefined) return undefined;
    return async (nodeId, leaveFreeBytes) => {
      const n = this.node(nodeId);
      // Running out of space may make the node stop itself, by design: not a crash.
      if (this.processes.status(n.id) !== 'exited') this.processes.expectExit(n.id);
      return { ...fillDisk(n.dataDir, leaveFreeBytes) };
    };
  }

  get emptyDisk(): ((nodeId: string) => Promise<Record<string, unknown>>) | undefined {
    if (this.options.nodeFsBytes === undefined) return undefined;
    return async (nodeId) => ({ freeBytes: emptyDisk(this.node(nodeId).dataDir) });
  }

  /**
   * Present when the db was given revertToDurable (see NodeControl.powerLoss). The node comes
   * back in a new "boot" (RAFT_BOOT_ID): after a real power loss the kernel's boot id changes,
   * which is how a node tells that its unsynced writes may be gone.
   */
  get powerLoss(): ((nodeId: string) => Promise<Record<string, unknown>>) | undefined {
    const revert = this.options.revertToDurable;
    if (revert === undefined) return undefined;
    return async (nodeId) => {
      const n = this.node(nodeId);
      await this.processes.kill(n.id, 'SIGKILL');
      this.bootCount++;
      this.bootIdOf.set(n.id, `jepsen-power-loss-${this.bootCount}`);
      return { ...(await revert(n.dataDir)), bootId: this.bootIdOf.get(n.id) };
    };
  }

  async restart(nodeId: string): Promise<void> {
    const bootId = this.bootIdOf.get(this.node(nodeId).id);
    await this.processes.restart(this.node(nodeId).id, bootId === undefined ? undefined : { [BOOT_ID_ENV]: bootId });
    await this.waitReady(nodeId);
  }

  pause(nodeId: string): void {
    this.processes.pause(this.node(nodeId).id);
  }

  resume(nodeId: string): void {
    this.processes.resume(this.node(nodeId).id);
  }

  /** Kills every process, copies extra logs into the run folder, closes every proxy. Idempotent. */
  async teardown(): Promise<void> {
    if (this.tornDown) return;
    this.tornDown = true;
    try {
      await this.processes.close();
    } finally {
      this.collectExtraLogs();
      await this.mesh.close();
      this.unmount();
    }
  }

  private async startNamesrv(): Promise<void> {
    const port = this.options.ports.namesrvPort;
    const launch = this.options.launchNamesrv({ port, runDir: this.options.runDir });
    this.launches.set(NAMESRV, launch);
    await this.processes.start({ name: NAMESRV, command: launch.command, args: launch.args, ...(launch.env ? { env: launch.env } : {}) });
    await this.waitReady(NAMESRV);
  }

  private async waitReady(name: string): Promise<void> {
    const launch = this.launches.get(name);
    assert(launch !== undefined, `no launch for ${name}`);
    const ports = launch.readyPorts ?? [name === NAMESRV ? this.options.ports.namesrvPort : this.node(name).brokerPort];
    const timeoutMs = this.options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const abort = new AbortController();
    // A process that dies while starting (a taken port, a bad conf) fails at once, not at the timeout.
    const died = this.processes.exited(name).then((exit) => {
      if (!abort.signal.aborted) throw new DbError('ERR_JEPSEN_NODE_NOT_READY', `exited while starting (code ${exit.code}, signal ${exit.signal})`);
    });
    try {
      await Promise.race([Promise.all(ports.map((p) => waitForPort(p, timeoutMs, '127.0.0.1', abort.signal))), died]);
    } catch (err) {
      const state = this.processes.status(name);
      const tail = this.processes.logTail(name, 400).trim();
      throw new DbError(
        'ERR_JEPSEN_NODE_NOT_READY',
        `${name} (${state}) did not accept connections on ${ports.join(',')} within ${timeoutMs} ms; log ${this.processes.logPath(name)} ends:\n${tail}`,
        { cause: err },
      );
    } finally {
      abort.abort();
      died.catch(() => {});
    }
  }

  private writeClusterFile(): void {
    const peers = Object.fromEntries(this.nodes.map((n) => [n.id, this.mesh.peersFor(n.id)]));
    writeFileSync(join(this.options.runDir, 'cluster.json'), JSON.stringify({ ...this.cluster(), peers }, null, 2) + '\n');
  }

  private collectExtraLogs(): void {
    const extra = this.options.extraLogFiles;
    if (extra === undefined) return;
    for (const n of this.nodes) {
      for (const file of extra(n)) {
        if (existsSync(file)) copyFileSync(file, join(this.processes.logDir, `${n.id}-${basename(file)}`));
      }
    }
  }
}
