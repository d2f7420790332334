/**
 * The bench Worker of bench/network-tables.bench.ts: loads and queries the network lookup tables with
 * the production modules (workers/network/tables.ts, geoip.ts, oui.ts) inside real workerd, through an
 * ASSETS binding. Routes (GET, small JSON answers the runner checks):
 * - `/empty`: answers at once (the per-request baseline);
 * - `/load?table=<name>`: forgets this isolate's tables, then loads one (a cold load: fetch, copy, view);
 * - `/ip?n=N`: N lookupIp calls on pseudo-random public addresses (1 in 5 IPv6), tables already loaded;
 * - `/mac?n=N`: N macVendor calls on pseudo-random MACs, the table already loaded;
 *   with `&dry=1` both make the same addresses without looking them up (the baseline to subtract).
 */
import { NETWORK_DATA } from "../../workers/network/data/manifest.ts";
import { loadIpTables, lookupIp } from "../../workers/network/geoip.ts";
import { loadOuiTable, macVendor } from "../../workers/network/oui.ts";
import { assetTables, forgetTables, loadTable } from "../../workers/network/tables.ts";

interface Env {
  ASSETS: { fetch(url: string): Promise<Response> };
}

let seed = 1;
const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const hex = (n: number) => Math.floor(n).toString(16);

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const url = new URL(req.url);
    const src = assetTables(env.ASSETS);
    const n = Number(url.searchParams.get("n") ?? 0);
    const dry = url.searchParams.has("dry");
    if (url.pathname === "/load") {
      const name = url.searchParams.get("table") as keyof typeof NETWORK_DATA.files;
      forgetTables();
      const t = await loadTable(src, NETWORK_DATA.files[name]);
      return Response.json({ entries: t.keys.length });
    }
    if (url.pathname === "/ip") {
      const t = await loadIpTables(src, [4, 6]);
      let found = 0;
      for (let i = 0; i < n; i++) {
        const ip = i % 5 === 4 ? `2a0${1 + Math.floor(rand() * 9)}:${hex(rand() * 65535)}:${hex(rand() * 65535)}::1` : `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
        if (!dry && lookupIp(t, ip).country) found++;
      }
      return Response.json({ found });
    }
    if (url.pathname === "/mac") {
      const t = await loadOuiTable(src);
      let found = 0;
      for (let i = 0; i < n; i++) {
        // Burnt-in (bit 1 of the first octet clear) MACs, so every one is looked up.
        const mac = [(Math.floor(rand() * 256) & ~2), ...Array.from({ length: 5 }, () => Math.floor(rand() * 256))].map((b) => b.toString(16).padStart(2, "0")).join(":");
        if (!dry && macVendor(t, mac)) found++;
      }
      return Response.json({ found });
    }
    return Response.json({ ok: true });
  },
};
