// Registration with every NameServer: the ready Raft leader registers as brokerId 0 with its
// term (the NameServer keeps the highest-term claim as master), followers as peer position + 1.
// It registers at once on a role change and after a topic change, and every 30 s otherwise;
// a stopping node unregisters so clients stop routing to it. With front doors it registers, as
// brokerId 0, each door it serves (front-doors.ts) instead of the group's broker name.

import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../common/logger.js';
import { isValidTopicName } from '../common/names.js';
import { RemotingClient } from '../protocol/remoting-client.js';
import { registrationAccessKey, signRequest } from '../protocol/acl-signature.js';
import { makeRequest, type RemotingCommand } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { ResponseCode } from '../protocol/response-code.js';
import { encodeJsonBody, type TopicConfig } from '../protocol/route-data.js';
import type { BrokerConfig } from './broker-config.js';
import type { FrontDoors } from './front-doors.js';
import type { RaftFacade } from './broker-context.js';
import type { MetadataState } from './metadata-state.js';

interface Claim {
  brokerName: string;
  brokerAddr: string;
  brokerId: number;
  term: number;
  topicConfigTable: Record<string, TopicConfig>;
  defaultTopicQueueNums: number;
}

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
  /** Registration rounds started per NameServer, and callers waiting for a round to finish. */
  private readonly started = new Map<string, number>();
  private waiters: { addr: string; round: number; resolve: () => void }[] = [];
  private lastBrokerId = -1;
  /** What each NameServer was last told, so a door given back can be unregistered. */
  private readonly lastClaims = new Map<string, Claim[]>();

  constructor(
    private readonly config: Readonly<BrokerConfig>,
    private readonly brokerAddr: string,
    private readonly raft: RaftFacade,
    private readonly metadata: MetadataState,
    private readonly log: Logger,
    /** Front doors (frontDoorEnable=true): register doors instead of the group's broker name. */
    private readonly doors?: FrontDoors,
    /** TLS options for the NameServers (namesrvTlsEnable); undefined: plain TCP. */
    tls?: ConnectionOptions,
  ) {
    this.client = new RemotingClient({ logger: log.child({ component: 'namesrv-registrar' }), ...(tls !== undefined ? { tls } : {}) });
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
    // The NameServer keeps each group's member set: a change is told at once.
    this.raft.onMembership?.(() => this.registerAll('membership change'));
    this.timer = setInterval(() => this.registerAll('periodic'), REGISTER_INTERVAL_MS);
    this.timer.unref();
    this.registerAll('start');
  }

  brokerId(): number {
    if (this.raft.isLeader()) return 0;
    // A joining node was told only some members, so its position in that list may be another
    // node's: its id's number is used instead (n3 → 4, as n3 would have in a full list).
    const numbered = /(\d+)$/.exec(this.raft.nodeId);
    if (this.config.dLegerJoining && numbered !== null) return Number(numbered[1]) + 1;
    const pos = this.raft.peerIds.indexOf(this.raft.nodeId);
    return pos + 1;
  }

  registerAll(reason: string): void {
    if (this.stopped) return;
    for (const addr of this.config.namesrvAddr) this.registerOne(addr, reason);
  }

  /**
   * Registers with every NameServer now and resolves once each has answered a registration that
   * holds today's tables (or failed, bounded by the request timeout), as RocketMQ's topic update
   * does before it answers: a route read after the answer shows the change.
   */
  registerAllAndWait(reason: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // This round carries the change the debounced one was set for: one registration, not two.
    if (this.debounce) {
      clearTimeout(this.debounce);
      this.debounce = undefined;
    }
    return Promise.all(this.config.namesrvAddr.map((addr) => {
      // A round in flight was built from older tables: wait for the queued one after it.
      const round = (this.started.get(addr) ?? 0) + 1;
      this.registerOne(addr, reason);
      return new Promise<void>((resolve) => this.waiters.push({ addr, round, resolve }));
    })).then(() => undefined);
  }

  private registerOne(addr: string, reason: string): void {
    if (this.busy.has(addr)) {
      this.again.add(addr);
      return;
    }
    this.busy.add(addr);
    const round = (this.started.get(addr) ?? 0) + 1;
    this.started.set(addr, round);
    const claims = this.claims();
    const current = new Set(claims.map((c) => `${c.brokerName}@${c.brokerAddr}`));
    // A door this node no longer serves (taken back by its owner) is removed at once.
    const dropped = (this.lastClaims.get(addr) ?? []).filter((c) => !current.has(`${c.brokerName}@${c.brokerAddr}`));
    this.lastClaims.set(addr, claims);
    Promise.all([
      ...dropped.map((c) => this.unregisterOne(addr, c.brokerName, c.brokerAddr, c.brokerId)),
      ...claims.map((c) => this.send(addr, c, reason)),
    ]).finally(() => {
      this.busy.delete(addr);
      this.waiters = this.waiters.filter((w) => {
        if (w.addr !== addr || w.round > round) return true;
        w.resolve();
        return false;
      });
      if (this.again.delete(addr)) this.registerOne(addr, 'queued');
    });
  }

  /** Standard layout: one claim for the group's broker name; front doors: one per door served. */
  private claims(): Claim[] {
    const topicConfigTable: Record<string, TopicConfig> = {};
    // The tables hold only valid names; the check keeps an older NameServer, which refuses a
    // whole registration for one bad name, working with whatever slipped in before.
    for (const t of this.metadata.topics()) if (isValidTopicName(t.topicName)) topicConfigTable[t.topicName] = t;
    if (this.doors !== undefined) {
      this.lastBrokerId = 0;
      return this.doors.claims(this.metadata.topics()).map((d) => ({ brokerName: d.brokerName, brokerAddr: d.brokerAddr, brokerId: 0, term: d.claimTerm, topicConfigTable: d.topicConfigTable, defaultTopicQueueNums: d.defaultTopicQueueNums }));
    }
    const brokerId = this.brokerId();
    this.lastBrokerId = brokerId;
    return [{ brokerName: this.config.brokerName, brokerAddr: this.brokerAddr, brokerId, term: this.raft.role().term, topicConfigTable, defaultTopicQueueNums: this.config.defaultTopicQueueNums }];
  }

  private send(addr: string, c: Claim, reason: string): Promise<void> {
    const req = makeRequest(RequestCode.REGISTER_BROKER, {
      brokerName: c.brokerName,
      brokerAddr: c.brokerAddr,
      clusterName: this.config.brokerClusterName,
      haServerAddr: c.brokerAddr,
      brokerId: String(c.brokerId),
      raftTerm: String(c.term),
      compressed: 'false',
      ...this.memberFields(),
    }, {
      body: encodeJsonBody({ topicConfigTable: c.topicConfigTable, autoCreateTopicEnable: this.config.autoCreateTopicEnable, defaultTopicQueueNums: c.defaultTopicQueueNums }),
    });
    return this.client.invoke(addr, this.signed(req), REGISTER_TIMEOUT_MS).then(
      (resp) => {
        if (resp.code !== ResponseCode.SUCCESS) this.log.warn({ namesrv: addr, code: resp.code, remark: resp.remark }, 'registration refused');
        else if (c.brokerId === 0 && resp.extFields['accepted'] === 'false') this.log.info({ namesrv: addr, brokerName: c.brokerName, term: c.term, masterAddr: resp.extFields['masterAddr'] }, 'brokerId 0 claim not accepted (a higher term holds it)');
        else this.log.debug({ namesrv: addr, brokerName: c.brokerName, brokerId: c.brokerId, term: c.term, reason }, 'registered');
      },
      (err: unknown) => this.log.warn({ err, namesrv: addr, reason }, 'registration failed'),
    );
  }

  /** The member set this node has in force (docs/broker.md, "Registration"): node id, voters, learners. */
  private memberFields(): Record<string, string> {
    const m = this.raft.membership?.();
    if (m === undefined) return {};
    return { raftNodeId: this.raft.nodeId, raftVoters: m.voters.join(','), raftLearners: m.learners.join(','), raftMembershipIndex: String(m.index) };
  }

  private unregisterOne(addr: string, brokerName: string, brokerAddr: string, brokerId: number): Promise<void> {
    return this.client.invoke(addr, this.signed(makeRequest(RequestCode.UNREGISTER_BROKER, {
      brokerName,
      brokerAddr,
      clusterName: this.config.brokerClusterName,
      brokerId: String(brokerId),
    })), UNREGISTER_TIMEOUT_MS).then(() => undefined, (err: unknown) => this.log.debug({ err, namesrv: addr }, 'unregister failed'));
  }

  /** Signs a route change with the NameServer's registration key, when one is configured. */
  private signed(req: RemotingCommand): RemotingCommand {
    const key = this.config.namesrvRegistrationKey;
    if (key !== '') signRequest(req, { accessKey: registrationAccessKey(this.config.brokerClusterName, this.config.brokerName), secretKey: key });
    return req;
  }

  /** Stops registering and, as Apache does on shutdown, unregisters from every NameServer (bounded wait). */
  async stop(): Promise<void> {
    // Once only: a node removed from its group stops here, and again at close.
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.debounce) clearTimeout(this.debounce);
    for (const w of this.waiters.splice(0)) w.resolve();
    await Promise.all(this.config.namesrvAddr.flatMap((addr) => {
      const claims = this.lastClaims.get(addr) ?? [{ brokerName: this.config.brokerName, brokerAddr: this.brokerAddr, brokerId: this.lastBrokerId }];
      return claims.map((c) => this.unregisterOne(addr, c.brokerName, c.brokerAddr, c.brokerId));
    }));
    await this.client.close();
  }
}
