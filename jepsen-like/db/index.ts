// Public surface of the process layer: process control, the cluster db, the port plan.
export * from './db-errors.js';
export * from './node-control.js';
export * from '../../src/devkit/port-plan.js';
export { ProcessControl, type ProcessSpec, type ProcessStatus, type ProcessInfo, type ExitInfo } from '../../raft/tools/process/process-control.js';
export { PID_FILE_NAME, killStaleProcesses, killStaleProcessesUnder, type StaleProcess } from '../../raft/tools/process/pid-file.js';
export { processStartTicks } from '../../raft/tools/process/process-identity.js';
export { ClusterDb, type Cluster, type ClusterNode, type ClusterDbOptions, type Launch, type NodeLaunchInput } from './cluster.js';
