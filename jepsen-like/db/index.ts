// Public surface of the process layer: process control, the cluster db, the port plan.
export * from './db-errors.js';
export * from './node-control.js';
export * from './port-plan.js';
export { ProcessControl, type ProcessSpec, type ProcessStatus, type ProcessInfo, type ExitInfo } from './process-control.js';
export { PID_FILE_NAME, killStaleProcesses, killStaleProcessesUnder, processStartTicks, type StaleProcess } from './pid-file.js';
export { ClusterDb, type Cluster, type ClusterNode, type ClusterDbOptions, type Launch, type NodeLaunchInput } from './cluster.js';
