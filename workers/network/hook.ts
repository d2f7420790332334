/**
 * The ingest call site of network visibility: one RPC per router in the batch to its NetworkState
 * object (sessions, passive DNS, devices), and which conntrack lines to leave out of the events table
 * for sources whose storage is "sessions" (one session row per flow instead of two raw lines).
 *
 * Settings (`network_settings`, PUT /v1/network/settings) are read once per settings version per
 * isolate (settings-cache.ts): a saved setting applies from the next batch.
 * A failing object does not fail ingest: the batch's flow lines are then all kept as raw events, so
 * nothing is lost, and the error is logged.
 */
import type { EcsEvent } from "../ecs.ts";
import type { Env } from "../env.ts";
import { storeOf } from "../store/d1.ts";
import { versionedCache } from "../settings-cache.ts";
import type { NetworkStore } from "../store/network.ts";
import { extractNetwork, routerOf } from "./extract.ts";
import { factEvent } from "./facts.ts";
import { networkRpcBatch } from "./payload.ts";
import { DEFAULT_TIMEOUTS, type FlowTimeouts } from "./sessions.ts";

export interface NetworkSettings {
  /** Conntrack timeouts, seconds. */
  timeouts: FlowTimeouts;
  /** Per router (lower-case syslog host or sender address): "raw" keeps conntrack lines, "sessions" keeps only sessions. Default "raw". */
  storage: Record<string, "raw" | "sessions">;
}

export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = { timeouts: DEFAULT_TIMEOUTS, storage: {} };
const settingsCache = versionedCache<Pick<NetworkStore, "readNetworkSetting">, NetworkSettings>(async (store) => {
  const stored = (await store.readNetworkSetting("settings")) as Partial<NetworkSettings> | undefined;
  return {
    timeouts: { ...DEFAULT_TIMEOUTS, ...stored?.timeouts },
    storage: Object.assign(Object.create(null), stored?.storage),
  };
});

/** Forget the cached settings (after PUT /v1/network/settings in this isolate). */
export const forgetNetworkSettings = (): void => settingsCache.forget();

/** The settings; with ingest's `settingsVersion`, from the isolate's cache while that version holds. */
export const networkSettings = (store: Pick<NetworkStore, "readNetworkSetting">, settingsVersion?: string): Promise<NetworkSettings> =>
  settingsCache.get(store, settingsVersion);

export interface NetworkIngest {
  /** Indexes of events (and rows) not to store: conntrack lines of sessions-only routers. */
  drop: Set<number>;
  sessions: number;
  /** Synthetic `porchlight.network` events (new device, new country, upload anomaly) for rule evaluation only. */
  events: EcsEvent[];
}

export async function ingestNetwork(env: Env, batchKey: string, events: readonly EcsEvent[], settingsVersion?: string): Promise<NetworkIngest> {
  const x = extractNetwork(events);
  const out: NetworkIngest = { drop: new Set(), sessions: 0, events: [] };
  if (x.routers.size === 0) return out;
  const settings = await networkSettings(storeOf(env), settingsVersion);
  const ok = new Set<string>();
  await Promise.all([...x.routers.values()].map(async (b) => {
    try {
      const stub = env.NETWORK.get(env.NETWORK.idFromName(b.router));
      // Packed, repeated sightings compacted: the payload's serialization is this request's CPU.
      const r = await stub.apply(networkRpcBatch(batchKey, b, settings.timeouts));
      out.sessions += r.sessions;
      r.facts.forEach((f, i) => out.events.push(factEvent(b.router, batchKey, i, f)));
      ok.add(b.router);
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "ingestNetwork", router: b.router, error: String(err) }));
    }
  }));
  for (const i of x.flowLines) {
    const router = routerOf(events[i]!);
    if (ok.has(router) && settings.storage[router] === "sessions") out.drop.add(i);
  }
  return out;
}
