// Clients known from heartbeats on this node: per consumer group the client channels and the
// subscriptions they declared, per producer group the channels. Not replicated: every client
// heartbeats every broker address of the group. A client may heartbeat over several connections
// to this node (with front doors each door is a port of its own): it stays registered while any
// of them is open, and leaves every group once the last one closes; a client silent for longer
// than the expiry (120 s) is dropped by a periodic scan.
// Whenever a consumer group gains or loses a client id, the listeners hear the group's name
// (once per group and operation), so the broker can tell the group's consumers to rebalance.

import type { RemotingChannel } from '../protocol/remoting-server.js';
import type { ConsumerData, SubscriptionData } from '../protocol/route-data.js';
import type { BrokerContext, ClientChannelInfo, ConsumerManagerView } from './broker-context.js';

/** A client as registered: the channel it last heartbeat on, and every open one it used. */
interface Registration extends ClientChannelInfo {
  channels: Set<RemotingChannel>;
}

interface GroupState {
  clients: Map<string, Registration>;
  subscriptions: Map<string, SubscriptionData>;
  messageModel: string;
}

export const CLIENT_EXPIRY_MS = 120_000;
/** Bounds on what heartbeats may make this node remember. */
const MAX_GROUPS = 10_000;
const MAX_CLIENTS_PER_GROUP = 10_000;
const MAX_SUBSCRIPTIONS_PER_GROUP = 1_000;
/** Bounds on one subscription as a heartbeat declares it. */
export const MAX_SUBSCRIPTION_EXPRESSION_CHARS = 16 * 1024;
export const MAX_SUBSCRIPTION_TAGS = 1_000;

/**
 * What is wrong with one subscription of a heartbeat (its topic is checked by the caller), or
 * undefined: the registry keeps it for as long as the client lives, so its size is bounded.
 */
export function checkSubscription(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null) return 'a subscription must be an object';
  const s = raw as Partial<Record<keyof SubscriptionData, unknown>>;
  if (typeof s.subString !== 'string' || s.subString.length > MAX_SUBSCRIPTION_EXPRESSION_CHARS) {
    return `subscription of ${String(s.topic)}: subString must be a string of at most ${MAX_SUBSCRIPTION_EXPRESSION_CHARS} characters`;
  }
  for (const [name, list] of [['tagsSet', s.tagsSet], ['codeSet', s.codeSet]] as const) {
    if (list !== undefined && (!Array.isArray(list) || list.length > MAX_SUBSCRIPTION_TAGS)) {
      return `subscription of ${String(s.topic)}: ${name} must be a list of at most ${MAX_SUBSCRIPTION_TAGS} items`;
    }
  }
  let tagChars = 0;
  for (const t of (s.tagsSet as unknown[] | undefined) ?? []) tagChars += typeof t === 'string' ? t.length : MAX_SUBSCRIPTION_EXPRESSION_CHARS + 1;
  // The tags are the expression split up: together no longer than it may be.
  if (tagChars > MAX_SUBSCRIPTION_EXPRESSION_CHARS) return `subscription of ${String(s.topic)}: tagsSet must hold strings of at most ${MAX_SUBSCRIPTION_EXPRESSION_CHARS} characters together`;
  if (s.subVersion !== undefined && typeof s.subVersion !== 'number') return `subscription of ${String(s.topic)}: subVersion must be a number`;
  return undefined;
}

/** The fields of a checked subscription this node keeps (nothing else a client sent). */
function keptSubscription(s: SubscriptionData): SubscriptionData {
  const tagsSet = [...(s.tagsSet ?? [])];
  const codeSet = (s.codeSet ?? []).map(Number);
  const kept: SubscriptionData = { topic: s.topic, subString: s.subString, tagsSet, codeSet, subVersion: s.subVersion ?? 0 };
  if (typeof s.expressionType === 'string') kept.expressionType = s.expressionType.slice(0, 32);
  if (typeof s.classFilterMode === 'boolean') kept.classFilterMode = s.classFilterMode;
  return kept;
}

export type ConsumerIdsListener = (group: string) => void;

/** Bounds the channels remembered per client (a client dials each address of a node at most once). */
const MAX_CHANNELS_PER_CLIENT = 64;

function registration(old: Registration | undefined, clientId: string, channel: RemotingChannel, nowMs: number): Registration {
  const channels = old?.channels ?? new Set<RemotingChannel>();
  if (!channels.has(channel) && channels.size >= MAX_CHANNELS_PER_CLIENT) channels.delete(channels.values().next().value!);
  channels.add(channel);
  return { clientId, channel, lastUpdateMs: nowMs, channels };
}

export class ConsumerManager implements ConsumerManagerView {
  private readonly consumerGroups = new Map<string, GroupState>();
  private readonly producerGroups = new Map<string, Map<string, Registration>>();
  private readonly idsListeners: ConsumerIdsListener[] = [];

  /** `listener` hears a consumer group whose client ids changed, after the change. */
  onConsumerIdsChanged(listener: ConsumerIdsListener): void {
    this.idsListeners.push(listener);
  }

  /** Registers a consumer; returns false when a bound refused it. */
  registerConsumer(clientId: string, channel: RemotingChannel, data: ConsumerData, nowMs: number): boolean {
    let g = this.consumerGroups.get(data.groupName);
    if (!g) {
      if (this.consumerGroups.size >= MAX_GROUPS) return false;
      g = { clients: new Map(), subscriptions: new Map(), messageModel: data.messageModel };
      this.consumerGroups.set(data.groupName, g);
    }
    const joined = !g.clients.has(clientId);
    if (joined && g.clients.size >= MAX_CLIENTS_PER_GROUP) return false;
    // A known id on a new channel (a reconnect) keeps the group's ids: no change to announce.
    g.clients.set(clientId, registration(g.clients.get(clientId), clientId, channel, nowMs));
    g.messageModel = data.messageModel;
    for (const s of data.subscriptionDataSet ?? []) {
      if (!g.subscriptions.has(s.topic) && g.subscriptions.size >= MAX_SUBSCRIPTIONS_PER_GROUP) break;
      const old = g.subscriptions.get(s.topic);
      if (!old || old.subVersion <= s.subVersion) g.subscriptions.set(s.topic, keptSubscription(s));
    }
    if (joined) this.idsChanged(data.groupName);
    return true;
  }

  registerProducer(clientId: string, channel: RemotingChannel, group: string, nowMs: number): boolean {
    let g = this.producerGroups.get(group);
    if (!g) {
      if (this.producerGroups.size >= MAX_GROUPS) return false;
      this.producerGroups.set(group, (g = new Map()));
    }
    if (!g.has(clientId) && g.size >= MAX_CLIENTS_PER_GROUP) return false;
    g.set(clientId, registration(g.get(clientId), clientId, channel, nowMs));
    return true;
  }

  unregisterConsumer(group: string, clientId: string): void {
    const g = this.consumerGroups.get(group);
    if (!g || !g.clients.delete(clientId)) return;
    if (g.clients.size === 0) this.consumerGroups.delete(group);
    this.idsChanged(group);
  }

  unregisterProducer(group: string, clientId: string): void {
    const g = this.producerGroups.get(group);
    if (!g) return;
    g.delete(clientId);
    if (g.size === 0) this.producerGroups.delete(group);
  }

  /**
   * Forgets `channel`; a client that heartbeat over it leaves only when it has no other open
   * channel here (it then goes on over the one it still has).
   */
  channelClosed(channel: RemotingChannel): void {
    this.removeWhere((info) => {
      if (!info.channels.delete(channel)) return false;
      const other = info.channels.values().next();
      if (other.done === true) return true;
      if (info.channel === channel) info.channel = other.value;
      return false;
    });
  }

  /** Drops clients not heard from for `expiryMs`; returns how many were dropped. */
  expire(nowMs: number, expiryMs = CLIENT_EXPIRY_MS): number {
    return this.removeWhere((info) => nowMs - info.lastUpdateMs > expiryMs);
  }

  private removeWhere(pred: (info: Registration) => boolean): number {
    let removed = 0;
    const changed: string[] = [];
    for (const [name, g] of this.consumerGroups) {
      const before = g.clients.size;
      for (const [id, info] of g.clients) if (pred(info)) { g.clients.delete(id); removed++; }
      if (g.clients.size !== before) changed.push(name);
      if (g.clients.size === 0) this.consumerGroups.delete(name);
    }
    for (const [name, g] of this.producerGroups) {
      for (const [id, info] of g) if (pred(info)) { g.delete(id); removed++; }
      if (g.size === 0) this.producerGroups.delete(name);
    }
    // Announced after the scan, so a listener reading the registry sees every removal.
    for (const name of changed) this.idsChanged(name);
    return removed;
  }

  private idsChanged(group: string): void {
    for (const listener of this.idsListeners) listener(group);
  }

  consumerIds(group: string): string[] {
    const g = this.consumerGroups.get(group);
    return g ? [...g.clients.keys()].sort() : [];
  }

  channels(group: string): ClientChannelInfo[] {
    const g = this.consumerGroups.get(group);
    return g ? [...g.clients.values()] : [];
  }

  subscription(group: string, topic: string): SubscriptionData | undefined {
    return this.consumerGroups.get(group)?.subscriptions.get(topic);
  }

  groups(): string[] {
    return [...this.consumerGroups.keys()];
  }

  producerChannels(group: string): ClientChannelInfo[] {
    const g = this.producerGroups.get(group);
    return g ? [...g.values()] : [];
  }

  producerIds(group: string): string[] {
    const g = this.producerGroups.get(group);
    return g ? [...g.keys()].sort() : [];
  }
}

/**
 * The registry behind a processor's context: processors see the read-only view, and only the
 * heartbeat and unregister processors write, through this (the controller passes its
 * ConsumerManager as the context's `consumers`).
 */
export function registryOf(ctx: BrokerContext): ConsumerManager {
  return ctx.consumers as ConsumerManager;
}
