/**
 * Who an address is, at search time: country, AS, the name the router's resolver gave it (passive DNS)
 * and the LAN device that holds it, from the router's NetworkState object (which has the DNS answers
 * at hand, and the GeoIP tables loaded already when it has paired sessions: workers/network/tables.ts). Used for
 * firewall events in GET /v1/events (their stored rows hold no enrichment: every ECS field but the
 * indexed columns is derived at read time, workers/store/search-time.ts) and for alerts about an address.
 * Best effort: an object that fails leaves the events as they are.
 */
import type { Env } from "../env.ts";
import { isPrivateIp } from "../parse/ip.ts";

export interface Who {
  country?: string;
  asn?: number;
  org?: string;
  domain?: string;
  device?: string;
}

/** Datasets whose events get who-is fields: firewalls and conntrack, where an address is the point. */
const ENRICHED = new Set(["iptables", "nftables", "pfsense.filterlog", "opnsense.filterlog", "ulogd", "kernel"]);
/** Routers asked per request at most (each is one Durable Object RPC: a subrequest). */
const MAX_ROUTERS = 8;

export async function describeAddresses(env: Env, router: string, items: { ip: string; ts: number }[]): Promise<Who[]> {
  return env.NETWORK.get(env.NETWORK.idFromName(router)).describe(items);
}

type Endpoint = { ip?: string; geo?: { country_iso_code?: string }; as?: { number?: number; organization?: { name?: string } }; domain?: string };
type Ev = Record<string, unknown> & { "@timestamp": string; event?: { dataset?: string }; host?: { hostname?: string }; porchlight?: { source_ip?: string }; source?: Endpoint; destination?: Endpoint };

function apply(ep: Endpoint, w: Who | undefined): void {
  if (!w) return;
  if (w.country && !ep.geo) ep.geo = { country_iso_code: w.country };
  if (w.asn !== undefined && !ep.as) ep.as = w.org ? { number: w.asn, organization: { name: w.org } } : { number: w.asn };
  if (w.domain && !ep.domain) ep.domain = w.domain;
}

/** Adds geo, as and domain to the public endpoints of firewall events, in place. */
export async function enrichEvents(env: Env, events: readonly Record<string, unknown>[]): Promise<void> {
  const byRouter = new Map<string, { ep: Endpoint; ip: string; ts: number }[]>();
  for (const raw of events) {
    const e = raw as Ev;
    if (!ENRICHED.has(e.event?.dataset ?? "")) continue;
    const router = (e.host?.hostname ?? e.porchlight?.source_ip ?? "unknown").toLowerCase();
    const ts = Date.parse(e["@timestamp"]);
    for (const ep of [e.source, e.destination]) {
      if (!ep?.ip || isPrivateIp(ep.ip)) continue;
      let list = byRouter.get(router);
      if (!list) {
        if (byRouter.size >= MAX_ROUTERS) continue;
        byRouter.set(router, (list = []));
      }
      list.push({ ep, ip: ep.ip, ts });
    }
  }
  await Promise.all([...byRouter].map(async ([router, list]) => {
    try {
      const who = await describeAddresses(env, router, list.map(({ ip, ts }) => ({ ip, ts })));
      list.forEach((x, i) => apply(x.ep, who[i]));
    } catch (err) {
      console.error(JSON.stringify({ level: "error", where: "enrichEvents", router, error: String(err) }));
    }
  }));
}
