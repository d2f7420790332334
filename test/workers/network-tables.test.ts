/**
 * The network lookup tables as static assets in workerd: served publicly (no session: open data) with
 * a long-lived cache header, loaded by the NetworkState object through its own ASSETS binding, only the
 * ones a call needs, once per isolate; a table that cannot load fails the object's call without
 * changing its state (the ingest hook then keeps the batch's lines as raw events).
 */
import { env, runInDurableObject, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { NETWORK_DATA } from "../../workers/network/data/manifest.ts";
import { assetTables, cachedTables, forgetTables } from "../../workers/network/tables.ts";
import type { NetworkState } from "../../durable-objects/network-state.ts";

const files = NETWORK_DATA.files;

describe("network tables in workerd", () => {
  beforeEach(() => forgetTables());

  it("serves each table as a static asset, immutable for a year (web/public/_headers)", async () => {
    // SELF reaches the Worker itself; the assets router (and the public path, test/e2e/web.test.ts) is ASSETS.
    for (const [name, file] of Object.entries(files)) {
      const res = await env.ASSETS.fetch(`https://porchlight.test/data/network/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect(bytes.length).toBe(NETWORK_DATA.bytes[name as keyof typeof NETWORK_DATA.bytes]);
      expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("PLT1");
    }
  });

  it("loads in the object through ASSETS only the tables a call needs", async () => {
    const stub = env.NETWORK.get(env.NETWORK.idFromName("tables-router"));
    const ts = Date.now();
    const who = await stub.describe([{ ip: "8.8.8.8", ts }, { ip: "192.168.1.7", ts }]);
    expect(who[0]).toMatchObject({ country: "US", asn: 15169, org: "Google LLC" });
    expect(who[1]).toEqual({});
    await runInDurableObject(stub, async () => {
      // IPv4 and the AS names only: no IPv6, no vendors.
      expect(cachedTables().sort()).toEqual([files["asn-names"], files["asn-v4"], files["geo-v4"]].sort());
    });
    const v6 = await stub.describe([{ ip: "2001:4860:4860::8888", ts }]);
    expect(v6[0]).toMatchObject({ country: "US", asn: 15169 });
    await runInDurableObject(stub, async () => {
      expect(cachedTables()).toContain(files["geo-v6"]);
      expect(cachedTables()).not.toContain(files.oui);
    });
  });

  it("fails a batch whose tables cannot load, and applies it whole once they can", async () => {
    const stub = env.NETWORK.get(env.NETWORK.idFromName("tables-missing"));
    const t = Date.now() - 60_000;
    const base = { transport: "tcp", srcIp: "192.168.1.5", dstIp: "1.1.1.1", srcPort: 40000, dstPort: 443, zone: 0 };
    const batch = {
      key: "tables-missing-1", router: "tables-missing", dns: [],
      sightings: [{ mac: "B8-27-EB-00-00-01", ip: "192.168.1.5", hostname: "pi", clientId: null, ts: t, via: "dnsmasq.dhcp", left: false }],
      flows: [
        { ...base, kind: "new" as const, ts: t, srcBytes: null, srcPackets: null, dstBytes: null, dstPackets: null },
        { ...base, kind: "destroy" as const, ts: t + 5000, srcBytes: 100, srcPackets: 2, dstBytes: 900, dstPackets: 3 },
      ],
    };
    await runInDurableObject(stub, async (o: NetworkState) => {
      o.tables = assetTables({ fetch: async () => new Response("not found", { status: 404 }) });
      await expect(o.apply(batch)).rejects.toThrow(/HTTP 404/);
      expect((await o.inspect()).openFlows).toBe(0);
      o.tables = assetTables(env.ASSETS);
      const r = await o.apply(batch);
      expect(r).toMatchObject({ duplicate: false, sessions: 1, devicesCreated: 1 });
    });
    const res = await SELF.fetch("https://porchlight.test/v1/sessions?router=tables-missing", { headers: { authorization: "Bearer test-admin-token-0123456789" } });
    const { sessions } = (await res.json()) as { sessions: any[] };
    expect(sessions).toHaveLength(1);
    expect(sessions[0].destination).toMatchObject({ ip: "1.1.1.1", as: { number: 13335, organization: { name: "Cloudflare, Inc." } } });
  });
});
