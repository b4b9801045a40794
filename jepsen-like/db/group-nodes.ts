// One Raft group's part of a cluster's node control: the same processes, only this group's node
// ids. The nemeses of a run over several groups each get one, so a "random node" or "a majority"
// is drawn inside one group, and the heal of the whole run still sees every node.
import type { NodeControl, NodeStatus } from './node-control.js';

export class GroupNodes implements NodeControl {
  readonly nodeIds: readonly string[];

  constructor(
    private readonly inner: NodeControl,
    ids: readonly string[],
  ) {
    this.nodeIds = [...ids];
  }

  status(nodeId: string): NodeStatus {
    return this.inner.status(nodeId);
  }

  pidOf(nodeId: string): number | undefined {
    return this.inner.pidOf?.(nodeId);
  }

  kill(nodeId: string): Promise<void> {
    return this.inner.kill(nodeId);
  }

  restart(nodeId: string): Promise<void> {
    return this.inner.restart(nodeId);
  }

  pause(nodeId: string): void {
    this.inner.pause(nodeId);
  }

  resume(nodeId: string): void {
    this.inner.resume(nodeId);
  }

  get powerLoss(): NodeControl['powerLoss'] {
    return this.inner.powerLoss?.bind(this.inner);
  }

  get fillDisk(): NodeControl['fillDisk'] {
    return this.inner.fillDisk?.bind(this.inner);
  }

  get emptyDisk(): NodeControl['emptyDisk'] {
    return this.inner.emptyDisk?.bind(this.inner);
  }
}
