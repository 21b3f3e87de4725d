import type { Cluster, Redis } from 'ioredis';
import { Redis as RedisClient } from 'ioredis';
import { clusterSlot } from '../engine/cluster-slot.ts';
import type { SubscriptionWire } from './subscription-batch.ts';

/**
 * Sharded Pub/Sub on a Redis Cluster: ONE subscriber connection per primary, each holding the
 * SSUBSCRIBEs of the channels whose slot that primary serves, so a publication travels only from
 * the shard that owns its channel to the processes subscribed to that channel.
 *
 * The owner of each channel is read from the cluster client's slot map, which the client refreshes
 * every second and on every MOVED reply. After each refresh the subscriptions follow the map: a
 * channel whose slot moved (a failover promoted a replica, or the slot was migrated) is subscribed
 * on its new primary, and connections to nodes that are no longer primaries are closed. What was
 * published while a channel moved is not received here; history channels get it back from the
 * gap repair (history/gap-repair.ts), or their subscribers are told it is lost.
 *
 * Every primary has its connection whether or not this process has channels on it: readiness
 * depends on each of them (this process publishes to any shard), and a first subscribe on a shard
 * finds its connection already open.
 */
export class ShardSubscribers implements SubscriptionWire {
  readonly #cluster: Cluster;
  readonly #connectionName: string;
  readonly #onMessage: (wireChannel: string, payload: string) => void;
  /** Subscriber connection per primary, by `host:port`. */
  readonly #shards = new Map<string, Redis>();
  /** Wire channels subscribed, and the primary that holds the subscription. */
  readonly #owners = new Map<string, string>();
  /** Wire channels whose SSUBSCRIBE failed or is yet to be confirmed on their current owner. */
  readonly #unconfirmed = new Set<string>();
  #closed = false;

  constructor(cluster: Cluster, connectionName: string, onMessage: (wireChannel: string, payload: string) => void) {
    this.#cluster = cluster;
    this.#connectionName = connectionName;
    this.#onMessage = onMessage;
    cluster.on('refresh', () => this.#follow());
  }

  /** The primaries of the current slot map. */
  #primaries(): Set<string> {
    const primaries = new Set<string>();
    for (const owners of this.#cluster.slots) if (owners?.[0] !== undefined) primaries.add(owners[0]);
    return primaries;
  }

  #ownerOf(wire: string): string | undefined {
    return this.#cluster.slots[clusterSlot(wire)]?.[0];
  }

  /** The subscriber connection of primary `node`, opened on first use. */
  #shard(node: string): Redis {
    let redis = this.#shards.get(node);
    if (redis === undefined) {
      const colon = node.lastIndexOf(':');
      const redisOptions = this.#cluster.options.redisOptions ?? {};
      redis = new RedisClient({
        ...redisOptions,
        host: node.slice(0, colon),
        port: Number(node.slice(colon + 1)),
        connectionName: this.#connectionName,
        // The cluster client decides where a channel lives; this connection only comes back to its
        // node (a full cluster restart keeps the addresses) and SSUBSCRIBEs again what it held, on
        // 'ready' below: ioredis' own autoResubscribe leaves its commands' failures unhandled.
        autoResubscribe: false,
        enableOfflineQueue: true,
        maxRetriesPerRequest: null,
        retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
      });
      redis.on('error', () => {});
      redis.on('ready', () => this.#resubscribe(node));
      redis.on('smessage', (channel: string, payload: string) => this.#onMessage(channel, payload));
      this.#shards.set(node, redis);
    }
    return redis;
  }

  /** After a (re)connection: SSUBSCRIBEs again, one slot at a time, what this node holds for us. */
  #resubscribe(node: string): void {
    const redis = this.#shards.get(node);
    if (redis === undefined || this.#closed) return;
    const held = [...this.#owners].filter(([, owner]) => owner === node).map(([wire]) => wire);
    for (const group of groupBy(held, clusterSlot).values()) {
      for (const wire of group) this.#unconfirmed.add(wire);
      redis.ssubscribe(...group).then(
        () => {
          for (const wire of group) if (this.#owners.get(wire) === node) this.#unconfirmed.delete(wire);
        },
        // Left unconfirmed: sent again at the next refresh of the slot map, and not ready meanwhile.
        () => {},
      );
    }
  }

  canSubscribe(wire: string): boolean {
    if (this.#closed || this.#cluster.status !== 'ready') return false;
    const owner = this.#ownerOf(wire);
    return owner !== undefined && this.#shards.get(owner)?.status === 'ready';
  }

  add(wires: string[]): Promise<void> {
    // A batch flushed after close() must not open connections that nothing would close.
    if (this.#closed) return Promise.reject(new Error('closed'));
    const confirmations: Promise<void>[] = [];
    for (const [node, group] of this.#bySlotAndOwner(wires)) {
      for (const wire of group) {
        this.#owners.set(wire, node);
        this.#unconfirmed.add(wire);
      }
      confirmations.push(
        this.#shard(node)
          .ssubscribe(...group)
          .then(() => {
            for (const wire of group) if (this.#owners.get(wire) === node) this.#unconfirmed.delete(wire);
          }),
      );
    }
    return Promise.all(confirmations).then(() => undefined);
  }

  remove(wires: string[]): void {
    if (this.#closed) return;
    const byNode = new Map<string, string[]>();
    for (const wire of wires) {
      const node = this.#owners.get(wire);
      this.#owners.delete(wire);
      this.#unconfirmed.delete(wire);
      if (node === undefined) continue;
      let group = byNode.get(node);
      if (group === undefined) byNode.set(node, (group = []));
      group.push(wire);
    }
    for (const [node, group] of byNode) this.#unsubscribe(node, group);
  }

  /** Unsubscribes `wires` from `node`'s connection: one SUNSUBSCRIBE per slot, as Redis requires. */
  #unsubscribe(node: string, wires: string[]): void {
    const redis = this.#shards.get(node);
    if (redis === undefined) return;
    for (const group of groupBy(wires, clusterSlot).values()) {
      // A connection that is down has lost its subscriptions with it.
      redis.sunsubscribe(...group).catch(() => {});
    }
  }

  /** `wires` grouped by owner and slot: [owner, channels of one slot] pairs. */
  #bySlotAndOwner(wires: string[]): Array<[string, string[]]> {
    const groups: Array<[string, string[]]> = [];
    for (const [slot, group] of groupBy(wires, clusterSlot)) {
      const owner = this.#cluster.slots[slot]?.[0];
      // Not served right now (the cluster is failing over): the next refresh places them.
      if (owner === undefined) {
        for (const wire of group) {
          this.#owners.set(wire, '');
          this.#unconfirmed.add(wire);
        }
        continue;
      }
      groups.push([owner, group]);
    }
    return groups;
  }

  /** Follows the cluster's slot map: subscriptions move to their slot's primary; ex-primaries are let go. */
  #follow(): void {
    if (this.#closed) return;
    const primaries = this.#primaries();
    for (const node of primaries) this.#shard(node);
    const moved: string[] = [];
    const leaving = new Map<string, string[]>();
    for (const [wire, node] of this.#owners) {
      const owner = this.#ownerOf(wire);
      if (owner === node && !this.#unconfirmedAndIdle(wire, node)) continue;
      moved.push(wire);
      if (node !== '' && primaries.has(node) && owner !== node) {
        let group = leaving.get(node);
        if (group === undefined) leaving.set(node, (group = []));
        group.push(wire);
      }
    }
    // A slot migrated between two live primaries: its channels leave the old one.
    for (const [node, group] of leaving) this.#unsubscribe(node, group);
    if (moved.length > 0) {
      this.add(moved).catch(() => {
        // Left unconfirmed: tried again at the next refresh, and not ready meanwhile.
      });
    }
    for (const [node, redis] of this.#shards) {
      if (primaries.has(node)) continue;
      this.#shards.delete(node);
      redis.disconnect();
    }
  }

  /**
   * A subscription that failed on a connection now ready is sent again; one still in flight on a
   * connection that is down is sent again by the resubscription when it is back ('ready').
   */
  #unconfirmedAndIdle(wire: string, node: string): boolean {
    return this.#unconfirmed.has(wire) && this.#shards.get(node)?.status === 'ready' && !this.#inFlight(node);
  }

  #inFlight(node: string): boolean {
    const redis = this.#shards.get(node) as (Redis & { commandQueue?: { length: number } }) | undefined;
    return (redis?.commandQueue?.length ?? 0) > 0;
  }

  /** One entry per primary (`subscriber <host:port>`), with its connection's state. */
  connections(): Record<string, string> {
    const states: Record<string, string> = {};
    for (const [node, redis] of this.#shards) states[`subscriber ${node}`] = redis.status;
    return states;
  }

  /** Every primary has its subscriber connection up, and every channel is subscribed where it lives. */
  ready(): boolean {
    const primaries = this.#primaries();
    if (primaries.size === 0) return false;
    for (const node of primaries) if (this.#shards.get(node)?.status !== 'ready') return false;
    return this.#unconfirmed.size === 0;
  }

  /** The connections to every primary (for start-up: resolves once each is ready). */
  async start(): Promise<void> {
    this.#follow();
    await Promise.all([...this.#shards.values()].map((redis) => (redis.status === 'ready' ? undefined : new Promise<void>((resolve) => redis.once('ready', () => resolve())))));
  }

  /** All subscriber connections, for closing. */
  close(): Redis[] {
    this.#closed = true;
    const all = [...this.#shards.values()];
    this.#shards.clear();
    for (const redis of all) redis.removeAllListeners('smessage');
    return all;
  }
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    let group = groups.get(k);
    if (group === undefined) groups.set(k, (group = []));
    group.push(item);
  }
  return groups;
}
