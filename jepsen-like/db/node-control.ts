// What the nemeses may do to a cluster's processes, by node id. The cluster db implements it
// over real processes; tests may implement it over anything.

export type NodeStatus = 'running' | 'paused' | 'exited';

export interface NodeControl {
  readonly nodeIds: readonly string[];
  status(nodeId: string): NodeStatus;
  /** SIGKILL and wait for the exit. */
  kill(nodeId: string): Promise<void>;
  /** Start again with the same command line (and data folder); resolves when it accepts connections. */
  restart(nodeId: string): Promise<void>;
  /** SIGSTOP. */
  pause(nodeId: string): void;
  /** SIGCONT. */
  resume(nodeId: string): void;
  /** The PID of the node's current process, when it runs (for history records). */
  pidOf?(nodeId: string): number | undefined;
  /**
   * A power loss: SIGKILL, then every write the node had not synced is dropped (its files go
   * back to what was durable; the node must run in the storage's test-only lazy mode). The node
   * stays down until `restart`. Absent when the db cannot do it. Resolves with what was dropped.
   */
  powerLoss?(nodeId: string): Promise<Record<string, unknown>>;
  /**
   * Fills the node's own file system until about `leaveFreeBytes` are free (a ballast file); its
   * process may then stop itself (fail-stop on ENOSPC), which is not counted as a crash. Absent
   * when nodes have no file system of their own.
   */
  fillDisk?(nodeId: string, leaveFreeBytes: number): Promise<Record<string, unknown>>;
  /** Removes the ballast of fillDisk. */
  emptyDisk?(nodeId: string): Promise<Record<string, unknown>>;
}
