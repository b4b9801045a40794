// Nemesis kinds by name, for the CLI's `--nemesis <list>`: `all`, or a comma-separated list of
// the names below. Each call builds fresh objects (a nemesis holds the state of its fault).
import { linkDelay, packetLoss } from './link-nemeses.js';
import type { Nemesis } from './nemesis.js';
import {
  partitionBridge,
  partitionClientsLeader,
  partitionClientsRandomNode,
  partitionIsolateLeader,
  partitionMajoritiesRing,
  partitionNamesrv,
  partitionOneWayLeader,
  partitionRandomHalves,
  partitionRandomNode,
} from './partition-nemeses.js';
import { abuse } from './abuse-nemesis.js';
import { diskFull } from './disk-full-nemesis.js';
import { membership } from './membership-nemesis.js';
import { powerLoss } from './power-loss-nemesis.js';
import { retention } from './retention-nemesis.js';
import { killLeader, killMajority, killRandomNode, pauseLeader, pauseRandom } from './process-nemeses.js';
import { CodedError } from '../../raft/coded-error.js';

export const NEMESIS_FACTORIES: Readonly<Record<string, () => Nemesis>> = Object.freeze({
  'partition-random-halves': partitionRandomHalves,
  'partition-random-node': partitionRandomNode,
  'partition-isolate-leader': partitionIsolateLeader,
  'partition-majorities-ring': partitionMajoritiesRing,
  'partition-bridge': partitionBridge,
  'partition-one-way-leader': partitionOneWayLeader,
  'partition-namesrv': partitionNamesrv,
  'partition-clients-leader': partitionClientsLeader,
  'partition-clients-random-node': partitionClientsRandomNode,
  'kill-random-node': killRandomNode,
  'kill-leader': killLeader,
  'kill-majority': killMajority,
  'pause-leader': () => pauseLeader(),
  'pause-random': () => pauseRandom(),
  'packet-loss': () => packetLoss(),
  delay: () => linkDelay(),
  retention,
  'power-loss': powerLoss,
  abuse,
  'disk-full': diskFull,
  membership,
});

export const NEMESIS_NAMES: readonly string[] = Object.keys(NEMESIS_FACTORIES);

export class UnknownNemesisError extends CodedError<'ERR_JEPSEN_UNKNOWN_NEMESIS'> {
  constructor(message: string) {
    super('ERR_JEPSEN_UNKNOWN_NEMESIS', message);
  }
}

/** The names `all`, `none` or `a,b,c` stands for (unchecked). */
export function nemesisNames(list: string): readonly string[] {
  return list.trim() === 'all' ? NEMESIS_NAMES : list.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'none');
}

/** Parses `all`, `none` or `a,b,c` into fresh nemeses; throws ERR_JEPSEN_UNKNOWN_NEMESIS naming the bad one. */
export function parseNemesisList(list: string): Nemesis[] {
  return nemesisNames(list).map((name) => {
    const make = NEMESIS_FACTORIES[name];
    if (make === undefined) throw new UnknownNemesisError(`unknown nemesis '${name}'; known: ${NEMESIS_NAMES.join(', ')}`);
    return make();
  });
}
