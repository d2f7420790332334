import { describe, expect, it } from "vitest";
import { api, ingest } from "./api-client.ts";

describe("/v1/sources/:key", () => {
  it("sets, reads, lists and deletes a source timezone; keys are canonical", async () => {
    const put = await api("/v1/sources/host:Router.Lan", { method: "PUT", json: { timezone: "Europe/Berlin" } });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ key: "host:router.lan", timezone: "Europe/Berlin" });
    expect(await (await api("/v1/sources/host:router.lan")).json()).toMatchObject({ timezone: "Europe/Berlin" });
    const ip = await api("/v1/sources/ip:2001:DB8:0:0::1", { method: "PUT", json: { timezone: "America/New_York" } });
    expect(((await ip.json()) as any).key).toBe("ip:2001:db8::1");
    const list = (await (await api("/v1/sources")).json()) as any;
    expect(list.sources.map((s: any) => s.key)).toEqual(expect.arrayContaining(["host:router.lan", "ip:2001:db8::1"]));
    expect((await api("/v1/sources/host:router.lan", { method: "DELETE" })).status).toBe(204);
    expect((await api("/v1/sources/host:router.lan")).status).toBe(404);
    expect((await api("/v1/sources/host:router.lan", { method: "DELETE" })).status).toBe(404);
  });

  it("rejects unknown timezones and malformed keys with 400", async () => {
    for (const tz of ["Mars/Olympus", "", "UTC+25", 5]) {
      const res = await api("/v1/sources/host:r", { method: "PUT", json: { timezone: tz } });
      expect(res.status, String(tz)).toBe(400);
      expect(((await res.json()) as any).error.message).toMatch(/timezone/);
    }
    for (const key of ["router", "ip:999.1.1.1", "host:", "host:a b"]) {
      const res = await api(`/v1/sources/${encodeURIComponent(key)}`, { method: "PUT", json: { timezone: "UTC" } });
      expect(res.status, key).toBe(400);
    }
  });
});

describe("clock skew", () => {
  const bsd = (ms: number) => {
    const d = new Date(ms);
    const mon = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][d.getUTCMonth()]!;
    return `${mon} ${String(d.getUTCDate()).padStart(2, " ")} ${[d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((x) => String(x).padStart(2, "0")).join(":")}`;
  };

  it("warns about a router logging local time (UTC+1) with the zone to set; a right clock gets no warning", async () => {
    const host = `skewgw${Date.now().toString(36)}`;
    // local time one hour ahead of UTC, no zone on the line: read as UTC, stamped an hour in the future
    const lines = (offsetMs: number) => Array.from({ length: 8 }, (_, i) => `<30>${bsd(Date.now() + offsetMs - (8 - i) * 1000)} ${host} dnsmasq[1]: query[A] example.com from 192.168.1.${10 + i}`);
    expect((await ingest(lines(3_600_000))).status).toBe(200);
    const body = (await (await api("/v1/sources")).json()) as { clock: { key: string; offset_hours: number | null }[]; warnings: { key: string; suggested_timezone: string; warning: string }[] };
    const w = body.warnings.find((x) => x.key === `host:${host}`);
    expect(w).toMatchObject({ suggested_timezone: "Etc/GMT-1" });
    expect(w!.warning).toMatch(/1 h in the future/);
    // a source with a right clock is measured but not warned about
    const good = `skewok${Date.now().toString(36)}`;
    await ingest(Array.from({ length: 6 }, (_, i) => `<30>${bsd(Date.now() - (6 - i) * 1000)} ${good} dnsmasq[1]: query[A] example.org from 192.168.1.2`));
    const after = (await (await api("/v1/sources")).json()) as typeof body;
    expect(after.clock.find((x) => x.key === `host:${good}`)).toMatchObject({ offset_hours: null });
    expect(after.warnings.some((x) => x.key === `host:${good}`)).toBe(false);
  });
});
