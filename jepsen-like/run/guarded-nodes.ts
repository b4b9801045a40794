// The node control the nemeses get during a run: the cluster db's, with a gate. Once the run is
// stopping (hard deadline, error) the gate closes and every restart, pause or resume is refused,
// so a nemesis still unwinding (its stop restarts what it killed) cannot start a process after
// the db tore everything down: such a process would outlive the run.
import type { NodeControl, NodeStatus } from '../db/node-control.js';
import { CodedError } from '../../raft/coded-error.js';

export class RunStoppingError extends CodedError<'ERR_JEPSEN_RUN_STOPPING'> {
  constructor(message: string) {
    super('ERR_JEPSEN_RUN_STOPPING', message);
  }
}

export class GuardedNodes implements NodeControl {
  private open = true;

  constructor(private readonly inner: NodeControl) {}

  get nodeIds(): readonly string[] {
    return this.inner.nodeIds;
  }

  close(): void {
    this.open = false;
  }

  status(nodeId: string): NodeStatus {
    return this.inner.status(nodeId);
  }

  pidOf(nodeId: string): number | undefined {
    return this.inner.pidOf?.(nodeId);
  }

  async kill(nodeId: string): Promise<void> {
    await this.inner.kill(nodeId);
  }

  get powerLoss(): ((nodeId: string) => Promise<Record<string, unknown>>) | undefined {
    const inner = this.inner.powerLoss?.bind(this.inner);
    if (inner === undefined) return undefined;
    return async (nodeId) => {
      this.check(`power loss of ${nodeId}`);
      return inner(nodeId);
    };
  }

  get fillDisk(): ((nodeId: string, leaveFreeBytes: number) => Promise<Record<string, unknown>>) | undefined {
    return this.inner.fillDisk?.bind(this.inner);
  }

  get emptyDisk(): ((nodeId: string) => Promise<Record<string, unknown>>) | undefined {
    return this.inner.emptyDisk?.bind(this.inner);
  }

  async restart(nodeId: string): Promise<void> {
    this.check(`restart ${nodeId}`);
    await this.inner.restart(nodeId);
  }

  pause(nodeId: string): void {
    this.check(`pause ${nodeId}`);
    this.inner.pause(nodeId);
  }

  resume(nodeId: string): void {
    this.check(`resume ${nodeId}`);
    this.inner.resume(nodeId);
  }

  private check(what: string): void {
    if (!this.open) throw new RunStoppingError(`${what} refused: the run is stopping`);
  }
}
