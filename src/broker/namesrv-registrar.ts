// Registration with every NameServer: the ready Raft leader registers as brokerId 0 with its
// term (the NameServer keeps the highest-term claim as master), followers as peer position + 1.
// It registers at once on a role change and after a topic change, and every 30 s otherwise;
// a stopping node unregisters so clients stop routing to it.

import type { Logger } from '../common/logger.js';
import { isValidTopicName } from '../common/names.js';
import { RemotingClient } from '../protocol/remoting-client.js';
import { makeRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { encodeJsonBody, type TopicConfig } from '../protocol/route-data.js';
import type { BrokerConfig } from './broker-config.js';
import type { RaftFacade } from './broker-context.js';
import type { MetadataState } from './metadata-state.js';

export const REGISTER_INTERVAL_MS = 30_000;
const REGISTER_TIMEOUT_MS = 3_000;
const UNREGISTER_TIMEOUT_MS = 1_000;
/** Topic changes arriving together cause one registration. */
const TOPIC_CHANGE_DEBOUNCE_MS = 50;

export class NamesrvRegistrar {
  private readonly client: RemotingClient;
  private timer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Registrations in flight per NameServer: a newer one waits instead of overtaking. */
  private readonly busy = new Set<string>();
  private readonly again = new Set<string>();
  private lastBrokerId = -1;

  constructor(
    private readonly config: Readonly<BrokerConfig>,
    private readonly brokerAddr: string,
    private readonly raft: RaftFacade,
    private readonly metadata: MetadataState,
    private readonly log: Logger,
  ) {
    this.client = new RemotingClient({ logger: log.child({ component: 'namesrv-registrar' }) });
  }

  start(): void {
    this.raft.onRoleChange(() => {
      // Only a change of the id we claim (or of the term while leading) needs an immediate call.
      const id = this.brokerId();
      if (id !== this.lastBrokerId || id === 0) this.registerAll('role change');
    });
    this.metadata.onApplied((_index, command) => {
      // Listeners hear of a metadata snapshot only when it replaced the tables (a reset replica).
      if (command.kind !== 'topic-upsert' && command.kind !== 'topic-delete' && command.kind !== 'metadata-snapshot') return;
      if (this.debounce || this.stopped) return;
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        this.registerAll('topic change');
      }, TOPIC_CHANGE_DEBOUNCE_MS);
      this.debounce.unref();
    });
    this.timer = setInterval(() => this.registerAll('periodic'), REGISTER_INTERVAL_MS);
    this.timer.unref();
    this.registerAll('start');
  }

  brokerId(): number {
    if (this.raft.isLeader()) return 0;
    const pos = this.raft.peerIds.indexOf(this.raft.nodeId);
    return pos + 1;
  }

  registerAll(reason: string): void {
    if (this.stopped) return;
    for (const addr of this.config.namesrvAddr) this.registerOne(addr, reason);
  }

  private registerOne(addr: string, reason: string): void {
    if (this.busy.has(addr)) {
      this.again.add(addr);
      return;
    }
    this.busy.add(addr);
    const brokerId = this.brokerId();
    this.lastBrokerId = brokerId;
    const term = this.raft.role().term;
    const topicConfigTable: Record<string, TopicConfig> = {};
    // The tables hold only valid names; the check keeps an older NameServer, which refuses a
    // whole registration for one bad name, working with whatever slipped in before.
    for (const t of this.metadata.topics()) if (isValidTopicName(t.topicName)) topicConfigTable[t.topicName] = t;
    const req = makeRequest(RequestCode.REGISTER_BROKER, {
      brokerName: this.config.brokerName,
      brokerAddr: this.brokerAddr,
      clusterName: this.config.brokerClusterName,
      haServerAddr: this.brokerAddr,
      brokerId: String(brokerId),
      raftTerm: String(term),
      compressed: 'false',
    }, {
      body: encodeJsonBody({ topicConfigTable, autoCreateTopicEnable: this.config.autoCreateTopicEnable, defaultTopicQueueNums: this.config.defaultTopicQueueNums }),
    });
    this.client.invoke(addr, req, REGISTER_TIMEOUT_MS).then(
      (resp) => {
        if (resp.code !== ResponseCode.SUCCESS) this.log.warn({ namesrv: addr, code: resp.code, remark: resp.remark }, 'registration refused');
        else if (brokerId === 0 && resp.extFields['accepted'] === 'false') this.log.info({ namesrv: addr, term, masterAddr: resp.extFields['masterAddr'] }, 'brokerId 0 claim not accepted (a higher term holds it)');
        else this.log.debug({ namesrv: addr, brokerId, term, reason }, 'registered');
      },
      (err: unknown) => this.log.warn({ err, namesrv: addr, reason }, 'registration failed'),
    ).finally(() => {
      this.busy.delete(addr);
      if (this.again.delete(addr)) this.registerOne(addr, 'queued');
    });
  }

  /** Stops registering and, as Apache does on shutdown, unregisters from every NameServer (bounded wait). */
  async stop(): Promise<void> {
    // Once only: a node removed from its group stops here, and again at close.
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    await Promise.all(this.config.namesrvAddr.map((addr) =>
      this.client.invoke(addr, makeRequest(RequestCode.UNREGISTER_BROKER, {
        brokerName: this.config.brokerName,
        brokerAddr: this.brokerAddr,
        clusterName: this.config.brokerClusterName,
        brokerId: String(this.lastBrokerId),
      }), UNREGISTER_TIMEOUT_MS).catch((err: unknown) => this.log.debug({ err, namesrv: addr }, 'unregister failed'))));
    await this.client.close();
  }
}
