import { describe, expect, it } from "vitest";
import { api } from "./api-client.ts";

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
