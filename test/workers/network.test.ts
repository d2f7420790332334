/**
 * Network visibility end to end in workerd: conntrack lines through POST /v1/ingest into the per-router
 * NetworkState object, paired into sessions (timeouts by its real alarm), enriched (GeoIP/ASN, passive
 * DNS), attributed to devices from DHCP lines; read back through /v1/sessions, /v1/devices and the
 * destination aggregates.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, ingest } from "./api-client.ts";
import { storeOf } from "../../workers/store/d1.ts";

const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();
const line = (ms: number, host: string, app: string, msg: string) => `<14>1 ${iso(ms)} ${host} ${app} 100 - - ${msg}`;

interface Flow {
  transport: "tcp" | "udp";
  src: string;
  dst: string;
  sport: number;
  dport: number;
  start: number;
  end: number;
  outPk: number;
  outB: number;
  inPk: number;
  inB: number;
}

const NAT = "203.0.113.5";
const newLine = (host: string, f: Flow) =>
  line(f.start, host, "ulogd", `[NEW] ${f.transport} ${f.transport === "tcp" ? "6 120 SYN_SENT" : "17 30"} src=${f.src} dst=${f.dst} sport=${f.sport} dport=${f.dport} [UNREPLIED] src=${f.dst} dst=${NAT} sport=${f.dport} dport=${f.sport}`);
const destroyLine = (host: string, f: Flow) =>
  line(f.end, host, "ulogd", `[DESTROY] ${f.transport} ${f.transport === "tcp" ? "6" : "17"} src=${f.src} dst=${f.dst} sport=${f.sport} dport=${f.dport} packets=${f.outPk} bytes=${f.outB} src=${f.dst} dst=${NAT} sport=${f.dport} dport=${f.sport} packets=${f.inPk} bytes=${f.inB} [ASSURED]`);

/** A deterministic generator (mulberry32) so a failure names the same flows on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function sessions(query: string): Promise<any[]> {
  const res = await api(`/v1/sessions?${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { sessions: any[] }).sessions;
}

describe("sessions", () => {
  it("pairs generated NEW/DESTROY lines into exactly those sessions, with DESTROY-only and timeouts", async () => {
    const host = "gen-router";
    const base = Date.now() - 60 * MIN;
    const r = rng(7);
    const flows: Flow[] = [];
    for (let i = 0; i < 30; i++) {
      const start = base + Math.floor(r() * 30 * MIN / 1000) * 1000;
      const transport = r() < 0.5 ? "tcp" : "udp";
      // Durations up to 10 min: inside both timeouts, so each pair closes by its DESTROY.
      const dur = transport === "tcp" ? Math.floor(r() * 600) * 1000 : Math.floor(r() * 170) * 1000;
      flows.push({
        transport, src: `192.168.7.${10 + (i % 5)}`, dst: `8.8.${i % 3}.${i + 1}`, sport: 40000 + i, dport: transport === "tcp" ? 443 : 53,
        start, end: start + dur, outPk: 1 + Math.floor(r() * 100), outB: Math.floor(r() * 1e6), inPk: 1 + Math.floor(r() * 100), inB: Math.floor(r() * 1e7),
      });
    }
    const lines = flows.flatMap((f) => [newLine(host, f), destroyLine(host, f)]);
    // DESTROY without NEW: a session of its own counters.
    const orphan: Flow = { transport: "tcp", src: "192.168.7.99", dst: "1.1.1.1", sport: 50001, dport: 853, start: base, end: base + 5 * MIN, outPk: 7, outB: 900, inPk: 8, inB: 4000 };
    lines.push(destroyLine(host, orphan));
    // NEW without DESTROY: UDP times out (180 s) long before now; TCP (7440 s) is still open.
    const lostUdp: Flow = { ...orphan, transport: "udp", src: "192.168.7.98", dst: "9.9.9.9", sport: 50002, dport: 53, start: base + MIN, end: 0 };
    const openTcp: Flow = { ...orphan, src: "192.168.7.97", dst: "9.9.9.10", sport: 50003, dport: 443, start: Date.now() - MIN, end: 0 };
    lines.push(newLine(host, lostUdp), newLine(host, openTcp));
    // In two batches, the DESTROYs of some flows in the second, as a relay may cut them.
    const first = await ingest(lines.slice(0, 31), { headers: { "idempotency-key": "gen-1" } });
    const second = await ingest(lines.slice(31), { headers: { "idempotency-key": "gen-2" } });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    // A retried batch changes nothing.
    expect((await ingest(lines.slice(31), { headers: { "idempotency-key": "gen-2" } })).body.duplicate).toBe(true);

    const stub = env.NETWORK.get(env.NETWORK.idFromName(host));
    const before = await stub.inspect();
    expect(before.openFlows).toBe(2);
    expect(before.alarm).not.toBeNull();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.inspect()).openFlows).toBe(1);

    const got = await sessions("router=gen-router&limit=1000");
    expect(got).toHaveLength(32);
    for (const f of flows) {
      const s = got.find((x) => x.source.port === f.sport && x.source.ip === f.src);
      expect(s, `flow ${f.sport}`).toBeDefined();
      expect(s.event.start).toBe(iso(f.start));
      expect(s.event.end).toBe(iso(f.end));
      expect(s.event.duration).toBe((f.end - f.start) * 1_000_000);
      expect(s.source).toMatchObject({ bytes: f.outB, packets: f.outPk });
      expect(s.destination).toMatchObject({ ip: f.dst, port: f.dport, bytes: f.inB, packets: f.inPk });
      expect(s.network).toMatchObject({ transport: f.transport, bytes: f.outB + f.inB });
      expect(s.porchlight.session.end_reason).toBe("destroy");
    }
    const o = got.find((x) => x.source.ip === orphan.src);
    expect(o.porchlight.session.end_reason).toBe("destroy_only");
    expect(o.event.end).toBe(iso(orphan.end));
    expect(o.event.duration).toBeUndefined();
    expect(o.source).toMatchObject({ bytes: 900, packets: 7 });
    const t = got.find((x) => x.source.ip === lostUdp.src);
    expect(t.porchlight.session.end_reason).toBe("timeout");
    expect(t.event.start).toBe(iso(lostUdp.start));
    expect(t.event.end).toBe(iso(lostUdp.start + 180_000));
    expect(t.event.duration).toBe(180_000 * 1_000_000);
    // The alarm stays set for the open TCP flow; running it early closes nothing (idempotent).
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.inspect()).openFlows).toBe(1);
    expect(await sessions("router=gen-router&limit=1000")).toHaveLength(32);
  });

  it("enriches with country, AS and the passive DNS name, and attributes sessions to DHCP devices", async () => {
    const host = "home-router";
    const t0 = Date.now() - 20 * MIN;
    const f1: Flow = { transport: "tcp", src: "192.168.1.20", dst: "93.184.215.14", sport: 41000, dport: 443, start: t0 + 2000, end: t0 + 62_000, outPk: 10, outB: 1500, inPk: 12, inB: 90000 };
    const f2: Flow = { transport: "udp", src: "192.168.1.20", dst: "8.8.8.8", sport: 41001, dport: 53, start: t0 + 3000, end: t0 + 4000, outPk: 1, outB: 70, inPk: 1, inB: 120 };
    const res = await ingest([
      line(t0, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.1.20 b8:27:eb:12:34:56 raspberrypi"),
      line(t0 + 1000, host, "dnsmasq", "reply example.com is 93.184.215.14"),
      newLine(host, f1), destroyLine(host, f1), newLine(host, f2), destroyLine(host, f2),
    ]);
    expect(res.status).toBe(200);
    const got = await sessions("router=home-router");
    const s1 = got.find((x) => x.destination.ip === "93.184.215.14");
    expect(s1.destination.domain).toBe("example.com");
    expect(s1.destination.geo).toEqual({ country_iso_code: "US" });
    const s2 = got.find((x) => x.destination.ip === "8.8.8.8");
    expect(s2.destination).toMatchObject({ geo: { country_iso_code: "US" }, as: { number: 15169, organization: { name: "Google LLC" } } });
    expect(s2.destination.domain).toBeUndefined();
    expect(s2.porchlight.session.device).toEqual({ id: "d-b827eb123456" });

    // Filters of the events API.
    expect(await sessions("router=home-router&domain=example.com")).toHaveLength(1);
    expect(await sessions("router=home-router&asn=AS15169")).toHaveLength(1);
    expect(await sessions("router=home-router&country=us")).toHaveLength(2);
    expect(await sessions("router=home-router&cidr=8.8.8.0/24&port=53")).toHaveLength(1);
    expect(await sessions("device=d-b827eb123456&last=1h")).toHaveLength(2);
    const csv = await api("/v1/sessions?router=home-router&format=csv");
    expect((await csv.text()).split("\r\n")[0]).toContain("destination.as.organization.name");
    expect((await api("/v1/sessions?colour=red")).status).toBe(400);
    expect((await api("/v1/sessions?country=USA")).status).toBe(400);

    const dev = await (await api("/v1/devices/d-b827eb123456")).json() as any;
    expect(dev).toMatchObject({ mac: "B8-27-EB-12-34-56", hostname: "raspberrypi", vendor: "Raspberry Pi Foundation", randomized_mac: false, online: false });
    expect(dev.ips).toEqual(["192.168.1.20"]);
    const byCountry = await (await api("/v1/devices/d-b827eb123456/destinations?by=country&last=7d")).json() as any;
    expect(byCountry.buckets).toEqual([{ key: "US", sessions: 2, bytes_out: 1570, bytes_in: 90120, first_seen: iso(f1.start), last_seen: iso(f1.end) }]);
    const byDomain = await (await api("/v1/devices/d-b827eb123456/destinations?by=domain")).json() as any;
    expect(byDomain.buckets.map((b: any) => b.key)).toEqual(["example.com"]);
    const talkers = await (await api("/v1/destinations/devices?by=asn&key=15169&last=7d")).json() as any;
    expect(talkers.buckets).toEqual([expect.objectContaining({ device: "d-b827eb123456", key: 15169, sessions: 1 })]);
    expect((await api("/v1/devices/d-b827eb123456/destinations?by=planet")).status).toBe(400);
  });
});

describe("D1 failure", () => {
  it("keeps closed sessions in the object's outbox while D1 fails and writes them once by the retry alarm", async () => {
    const host = "flaky-router";
    const t0 = Date.now() - 10 * MIN;
    const f: Flow = { transport: "tcp", src: "192.168.8.2", dst: "1.1.1.1", sport: 44000, dport: 443, start: t0, end: t0 + 30_000, outPk: 2, outB: 200, inPk: 3, inB: 3000 };
    await env.DB.exec("ALTER TABLE flow_sessions RENAME TO flow_sessions_away");
    let res;
    try {
      // Ingest itself succeeds: the events are stored, the session waits in the outbox.
      res = await ingest([newLine(host, f), destroyLine(host, f)]);
    } finally {
      await env.DB.exec("ALTER TABLE flow_sessions_away RENAME TO flow_sessions");
    }
    expect(res.status).toBe(200);
    const stub = env.NETWORK.get(env.NETWORK.idFromName(host));
    const held = await stub.inspect();
    expect(held.outbox).toBeGreaterThan(0);
    expect(held.schedule.map((x) => x.kind)).toContain("outbox");
    expect(await sessions("router=flaky-router")).toHaveLength(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.inspect()).outbox).toBe(0);
    expect(await sessions("router=flaky-router")).toMatchObject([{ source: { bytes: 200 }, destination: { bytes: 3000 } }]);
  });
});

describe("devices", () => {
  it("merges a phone's rotating randomized MACs by hostname, flags them, and keeps the user's name", async () => {
    const host = "wifi-router";
    const t0 = Date.now() - 2 * MIN;
    await ingest([
      line(t0, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.3.50 da:a1:19:00:00:01 pixel-7"),
      line(t0 + 1000, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.3.51 00:1b:63:aa:bb:cc android"),
    ]);
    const patched = await api("/v1/devices/d-daa119000001", { method: "PATCH", json: { name: "Anna's phone", tags: ["phone"] } });
    expect(patched.status).toBe(200);
    await ingest([
      line(t0 + 60_000, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.3.52 da:a1:19:00:00:02 pixel-7"),
      // A burnt-in MAC with an equal hostname is another device.
      line(t0 + 61_000, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.3.53 00:1b:63:dd:ee:ff android"),
    ]);
    const { devices } = await (await api("/v1/devices")).json() as { devices: any[] };
    const mine = devices.filter((d) => d.router === host);
    expect(mine).toHaveLength(3);
    const phone = mine.find((d) => d.id === "d-daa119000001");
    expect(phone).toMatchObject({ mac: "DA-A1-19-00-00-02", randomized_mac: true, vendor: null, name: "Anna's phone", tags: ["phone"], online: true, hostname: "pixel-7" });
    expect(phone.macs).toEqual(["DA-A1-19-00-00-01", "DA-A1-19-00-00-02"]);
    expect(phone.ips).toEqual(["192.168.3.52", "192.168.3.50"]);
    expect(mine.filter((d) => d.vendor === "Apple, Inc.")).toHaveLength(2);
    expect((await api("/v1/devices/d-daa119000001", { method: "PATCH", json: { name: "" } })).status).toBe(400);
    expect((await api("/v1/devices/nope", { method: "PATCH", json: { name: "x" } })).status).toBe(404);
    expect((await api("/v1/devices/d-000000000000")).status).toBe(404);
  });
});

describe("storage per source", () => {
  it("keeps only sessions for a sessions-only router: one row per flow instead of two raw lines", async () => {
    const put = await api("/v1/network/settings", { method: "PUT", json: { storage: { "quiet-router": "sessions" }, timeouts: { udp: 120 } } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ storage: { "quiet-router": "sessions" }, timeouts: { udp: 120, tcp: 7440 } });
    const t0 = Date.now() - 5 * MIN;
    const flows: Flow[] = Array.from({ length: 10 }, (_, i) => ({ transport: "tcp", src: "192.168.9.2", dst: "140.82.112.3", sport: 42000 + i, dport: 443, start: t0 + i * 1000, end: t0 + i * 1000 + 5000, outPk: 3, outB: 300, inPk: 4, inB: 4000 }));
    const res = await ingest([...flows.flatMap((f) => [newLine("quiet-router", f), destroyLine("quiet-router", f)]), line(t0, "quiet-router", "dnsmasq", "reply github.com is 140.82.112.3")]);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ accepted: 21, stored: 1 });
    const events = await (await api("/v1/events?host=quiet-router&limit=100")).json() as { events: unknown[] };
    expect(events.events).toHaveLength(1);
    const got = await sessions("router=quiet-router");
    expect(got).toHaveLength(10);
    expect(got.every((s) => s.destination.as?.number === 36459)).toBe(true);
    expect((await api("/v1/network/settings", { method: "PUT", json: { storage: { "quiet-router": "some" } } })).status).toBe(400);

    // Saved by another isolate (straight into the store: this isolate's cache is not told), the setting
    // applies from the next batch: the cache is keyed on the settings version ingest reads per batch.
    await storeOf(env).writeNetworkSetting("settings", { storage: { "quiet-router": "raw" }, timeouts: { udp: 120 } }, Date.now());
    const t1 = Date.now() - 2 * MIN;
    const more: Flow = { ...flows[0]!, sport: 43000, start: t1, end: t1 + 5000 };
    expect((await ingest([newLine("quiet-router", more), destroyLine("quiet-router", more)])).body).toMatchObject({ accepted: 2, stored: 2 });
  });
});

describe("firewall events and alerts: who an address is", () => {
  it("adds country, AS and the passive DNS name to a firewall event's public address at search time", async () => {
    const host = "fw-router";
    const t0 = Date.now() - 3 * MIN;
    await ingest([
      line(t0, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.6.20 b8:27:eb:00:06:20 pi"),
      line(t0 + 1000, host, "dnsmasq", "reply dns.google is 8.8.8.8"),
      line(t0 + 2000, host, "kernel", "REJECT(dest wan)IN=br-lan OUT=eth0 SRC=192.168.6.20 DST=8.8.8.8 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=5555 DPT=853 WINDOW=1024 RES=0x00 SYN URGP=0"),
    ]);
    const res = await api(`/v1/events?host=${host}&dst_ip=8.8.8.8`);
    const { events } = (await res.json()) as { events: any[] };
    expect(events).toHaveLength(1);
    expect(events[0].destination).toMatchObject({ ip: "8.8.8.8", domain: "dns.google", geo: { country_iso_code: "US" }, as: { number: 15169, organization: { name: "Google LLC" } } });
    expect(events[0].source.geo).toBeUndefined();
    const one = (await (await api(`/v1/events/${events[0].id}`)).json()) as any;
    expect(one.destination.domain).toBe("dns.google");
    await api("/v1/devices/d-b827eb000620", { method: "PATCH", json: { name: "Kitchen Pi" } });
    const who = (await (await api(`/v1/network/describe?router=${host}&ip=8.8.8.8&ip=192.168.6.20`)).json()) as any;
    expect(who.addresses["8.8.8.8"]).toMatchObject({ country: "US", asn: 15169, domain: "dns.google" });
    expect(who.addresses["192.168.6.20"]).toEqual({ device: "d-b827eb000620", device_name: "Kitchen Pi" });
    expect((await api(`/v1/network/describe?router=${host}&ip=nope`)).status).toBe(400);
  });
});

describe("network rules (default pack)", () => {
  it("alerts at once on a device joining after the inventory window, on a new country after the device's learning period, and keeps user edits on re-import", async () => {
    const pack = (await import("../../workers/rules/default-pack.json")).default as { id: string }[];
    const mine = pack.filter((r) => ["new-device-on-lan", "device-new-country"].includes(r.id));
    const imp = await api("/v1/rules/import?existing=keep", { method: "POST", json: mine });
    expect(await imp.json()).toMatchObject({ imported: 2 });
    const host = "rules-router";
    const day = 86_400_000;
    const t0 = Date.now() - 9 * day;
    // The router's first hour: the inventory is learned, nothing alerts.
    await ingest([line(t0, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.4.10 b8:27:eb:00:00:10 nas")]);
    // Upload baseline (hours fold forward only, so these come first): five days of ≈60 MB in one hour, then 900 MB.
    const up = pack.filter((r) => r.id === "device-upload-anomaly");
    expect((await (await api("/v1/rules/import?existing=keep", { method: "POST", json: up })).json()) as object).toMatchObject({ imported: 1 });
    const hour = 3_600_000;
    const h0 = Math.floor(Date.now() / hour) * hour - 6 * hour;
    // The same hour of day on six days: the baseline is per hour of day.
    const upload = (i: number, bytes: number): Flow => ({ transport: "tcp", src: "192.168.4.10", dst: "1.1.1.1", sport: 45000 + i, dport: 443, start: h0 - (5 - i) * day + 60_000, end: h0 - (5 - i) * day + 120_000, outPk: 100, outB: bytes, inPk: 100, inB: 1000 });
    for (const [i, b] of [[0, 60e6], [1, 55e6], [2, 65e6], [3, 58e6], [4, 62e6]] as const) await ingest([newLine(host, upload(i, b)), destroyLine(host, upload(i, b))]);
    let after = ((await (await api("/v1/alerts?limit=100")).json()) as { alerts: { title: string }[] }).alerts.map((a) => a.title);
    expect(after).not.toContain("nas uploads far more than usual");
    await ingest([newLine(host, upload(5, 900e6)), destroyLine(host, upload(5, 900e6))]);
    after = ((await (await api("/v1/alerts?limit=100")).json()) as { alerts: { title: string }[] }).alerts.map((a) => a.title);
    expect(after).toContain("nas uploads far more than usual");

    // Later: a new device alerts at once, with vendor and hostname.
    await ingest([line(Date.now() - MIN, host, "dnsmasq-dhcp", "DHCPACK(br-lan) 192.168.4.11 00:1b:63:00:00:11 macbook")]);
    // The learned device (first seen 9 days ago) talks to a country for the first time.
    const f: Flow = { transport: "tcp", src: "192.168.4.10", dst: "8.8.8.8", sport: 43000, dport: 443, start: Date.now() - 5 * MIN, end: Date.now() - 4 * MIN, outPk: 1, outB: 100, inPk: 1, inB: 100 };
    await ingest([newLine(host, f), destroyLine(host, f)]);
    await ingest([newLine(host, { ...f, sport: 43001 }), destroyLine(host, { ...f, sport: 43001 })]);
    const alerts = ((await (await api("/v1/alerts?limit=100")).json()) as { alerts: { title: string; text: string }[] }).alerts;
    const titles = alerts.map((a) => a.title);
    expect(titles).toContain("New device macbook on the LAN");
    expect(titles).not.toContain("New device nas on the LAN");
    const inventory = ((await (await api("/v1/devices")).json()) as { devices: any[] }).devices.filter((d) => d.router === host);
    expect(inventory.map((d) => [d.hostname, d.learned]).sort()).toEqual([["macbook", false], ["nas", true]]);
    expect(alerts.find((a) => a.title === "New device macbook on the LAN")!.text).toContain("Apple, Inc.");
    expect(titles.filter((t) => t === "nas talks to US for the first time")).toHaveLength(1);

    // Re-importing the pack keeps the user's edit.
    const edited = await api("/v1/rules/new-device-on-lan", { method: "PATCH", json: { enabled: false } });
    expect(edited.status).toBe(200);
    const again = await (await api("/v1/rules/import?existing=keep", { method: "POST", json: mine })).json() as { imported: number; kept: string[] };
    expect(again).toMatchObject({ imported: 0, kept: ["new-device-on-lan", "device-new-country"] });
    expect(((await (await api("/v1/rules/new-device-on-lan")).json()) as { enabled: boolean }).enabled).toBe(false);
  });
});
