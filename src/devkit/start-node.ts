// `rmq cluster start-node`: starts one stopped broker node of a local cluster again (after a
// crash, a SIGKILL, an OOM kill) with its recorded conf and data, writes its new pid into
// cluster.json, and returns once it answers and has applied what its group's leader had
// committed. Nodes that still run are left alone; the rest of the cluster is not touched.
import type { Admin } from '../client/index.js';
import type { ClusterFile } from './cluster-file.js';
import { clusterAdmin } from './cluster-admin.js';
import { DevkitError } from './devkit-errors.js';
import { findNode, restartNode } from './cluster-launcher.js';
import { caughtUp } from './rolling-restart.js';

export interface StartedNode {
  brokerName: string;
  nodeId: string;
  pid: number;
  /** From the launch until the node answered and had caught up with the leader. */
  caughtUpMs: number;
}

/** `broker-a/n1`, or `n1` when the cluster has one group. */
export function parseNodeName(file: ClusterFile, name: string): { brokerName: string; nodeId: string } {
  const slash = name.indexOf('/');
  if (slash >= 0) return { brokerName: name.slice(0, slash), nodeId: name.slice(slash + 1) };
  if (file.groups.length !== 1) {
    throw new DevkitError(`--node ${name} is ambiguous: the cluster has groups ${file.groups.map((g) => g.brokerName).join(', ')}; pass <brokerName>/<id>, e.g. ${file.groups[0]!.brokerName}/${name}`);
  }
  return { brokerName: file.groups[0]!.brokerName, nodeId: name };
}

export async function startNode(file: ClusterFile, name: string, timeoutMs: number): Promise<StartedNode> {
  const { brokerName, nodeId } = parseNodeName(file, name);
  const node = findNode(file, brokerName, nodeId);
  const group = file.groups.find((g) => g.brokerName === brokerName)!;
  const started = Date.now();
  const pid = restartNode(file, brokerName, nodeId);
  const admin = clusterAdmin(file, 1500);
  await admin.start();
  try {
    await caughtUp(admin, group, node, timeoutMs, `${brokerName}/${nodeId}`).catch((err: unknown) => {
      throw new DevkitError(`${brokerName}/${nodeId} (pid ${pid}) did not answer and catch up with its leader within ${timeoutMs} ms; it was left running: see ${node.logPath}`, 'ERR_DEVKIT_START_FAILED', { cause: err });
    });
  } finally {
    await admin.shutdown();
  }
  return { brokerName, nodeId, pid, caughtUpMs: Date.now() - started };
}
