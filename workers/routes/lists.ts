/**
 * Routes of /v1/lists: address lists (IPs and CIDRs, IPv4 or IPv6) that rule conditions read with
 * `{"destination.ip": {"in_list": "name"}}`. PUT replaces a list (the body: one entry per line, `#`
 * comments, or JSON {"entries": [...]}); entries that are not an address or a prefix are refused with
 * their line numbers and nothing is stored. GET answers the metadata and the entries; DELETE removes
 * it (rules naming it then match nothing). Reads need `read`, changes `admin`.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../auth.ts";
import { requireScope } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { decodeUtf8, readBodyBytes } from "../ingest/body.ts";
import { IpRangeSet } from "../rules/ip-list.ts";
import { storeOf } from "../store/d1.ts";

/** Largest list body, bytes: ~500,000 entries of an IPv4 CIDR per line. */
export const LIST_MAX_BYTES = 10 * 1024 * 1024;
/** Most entries in one list. */
export const LIST_MAX_ENTRIES = 500_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function listName(name: string): string {
  if (!NAME.test(name)) throw new PorchlightError("validation_failed", "name: 1-64 letters, digits, '_', '.', '-', starting with a letter or digit", { field: "name" });
  return name;
}

export function registerListRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/lists", requireScope("read"), async (c) => c.json({ lists: await storeOf(c.env).listLists() }));

  app.put("/v1/lists/:name", requireScope("admin"), async (c) => {
    const name = listName(c.req.param("name"));
    const bytes = await readBodyBytes(c.req.raw.body, "identity", c.req.header("content-length") ?? null, LIST_MAX_BYTES);
    const text = decodeUtf8(bytes);
    let entries: string[];
    if ((c.req.header("content-type") ?? "").startsWith("application/json")) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new PorchlightError("invalid_body", `Body is not JSON: ${(e as Error).message}`);
      }
      const list = Array.isArray(body) ? body : (body as { entries?: unknown } | null)?.entries;
      if (!Array.isArray(list) || !list.every((x) => typeof x === "string")) throw new PorchlightError("validation_failed", 'entries: a JSON array of strings (or {"entries": [...]})', { field: "entries" });
      entries = list;
    } else entries = text.split(/\r?\n/);
    const parsed = IpRangeSet.parse(entries);
    if (parsed.invalid.length) {
      const first = parsed.invalid[0]!;
      throw new PorchlightError("validation_failed", `entry ${first.line}: "${first.entry}" is not an IP address or CIDR prefix${parsed.invalid.length > 1 ? ` (and ${parsed.invalid.length - 1} more)` : ""}; nothing stored`, { field: "entries", invalid: parsed.invalid.slice(0, 100) });
    }
    const kept = entries.map((e) => e.replace(/#.*$/, "").trim()).filter(Boolean);
    if (kept.length > LIST_MAX_ENTRIES) throw new PorchlightError("payload_too_large", `At most ${LIST_MAX_ENTRIES} entries per list (got ${kept.length})`);
    const meta = await storeOf(c.env).putList(name, kept, Date.now());
    return c.json({ ...meta, ranges: parsed.set.ranges });
  });

  app.get("/v1/lists/:name", requireScope("read"), async (c) => {
    const name = listName(c.req.param("name"));
    const store = storeOf(c.env);
    const meta = await store.getListMeta(name);
    if (!meta) throw new PorchlightError("not_found", `No list "${name}"`);
    return c.json({ ...meta, entries: await store.getListEntries(name) });
  });

  app.delete("/v1/lists/:name", requireScope("admin"), async (c) => {
    const name = listName(c.req.param("name"));
    if (!(await storeOf(c.env).deleteList(name))) throw new PorchlightError("not_found", `No list "${name}"`);
    return c.json({ deleted: name });
  });
}
