// The programs a local cluster runs, from the one dist/ resolver, and the process primitives of
// the supervisor (raft/tools/process) that the cluster commands use, under the names they had
// when they lived here.
import { join } from 'node:path';
import { distDir } from '../../raft/tools/process/dist-dir.js';

export { distDir } from '../../raft/tools/process/dist-dir.js';
export { launchDetached, stopProcesses, tailOf, type Launched, type StopResult } from '../../raft/tools/process/detached.js';
export { isAlive, isOurProcess } from '../../raft/tools/process/process-identity.js';

/** The NameServer's entry point in `dist` (default: this checkout's dist/). */
export const namesrvScript = (dist = distDir()): string => join(dist, 'src', 'namesrv', 'main.js');
/** The broker's entry point in `dist`: the only place a launcher learns where it is. */
export const brokerScript = (dist = distDir()): string => join(dist, 'src', 'broker', 'main.js');
