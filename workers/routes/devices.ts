/**
 * The device inventory (read scope; PATCH admin):
 * - `GET /v1/devices` → `{"devices": [...]}`, newest first; `GET /v1/devices/:id`;
 * - `PATCH /v1/devices/:id` `{"name": "Living-room TV", "tags": ["iot"]}`: the user's name and tags
 *   (never overwritten by what the network says);
 * - `GET /v1/devices/:id/destinations?by=country|asn|domain|port&last=7d` → `{"buckets": [...]}`;
 * - `GET /v1/devices/:id/hourly?last=7d` → bytes per hour (the device page's chart);
 * - `GET /v1/destinations/devices?by=country&key=RU&last=7d` → the reverse: which devices talked to it.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, type AppEnv } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { lowerBound } from "../parse/id.ts";
import { storeOf } from "../store/d1.ts";
import type { DestinationBy } from "../store/network.ts";
import { parseJsonBody } from "./json-body.ts";
import { registerSessionRoutes, sinceMs } from "./sessions.ts";

const DEVICE_ID_RE = /^(?:d-[0-9a-f]{12}|ip-[0-9a-f.:]{2,45})$/;
const BY = z.enum(["country", "asn", "domain", "port"]);
const LIMIT = z.coerce.number().int().min(1).max(1000).default(50);

const PatchBody = z.object({
  name: z.string().trim().min(1).max(64).nullable().optional(),
  tags: z.array(z.string().trim().min(1).max(32).regex(/^[\p{L}\p{N}_.:-]+$/u, "letters, digits and _ . : -")).max(16).optional(),
}).strict().refine((b) => b.name !== undefined || b.tags !== undefined, "give name and/or tags");

function deviceId(param: string): string {
  if (!DEVICE_ID_RE.test(param)) throw new PorchlightError("not_found", `No device with id '${param.slice(0, 64)}'`);
  return param;
}

function param<T extends z.ZodType>(schema: T, value: string | undefined, name: string): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw new PorchlightError("validation_failed", `Parameter '${name}': ${r.error.issues[0]?.message ?? "invalid"}`, { param: name });
  return r.data;
}

/** The key of a reverse lookup, typed like the column it matches. */
function destinationKey(by: DestinationBy, key: string | undefined): string | number {
  if (!key) throw new PorchlightError("validation_failed", "Parameter 'key': required (a country code, AS number, domain or port)", { param: "key" });
  if (by === "country") {
    if (!/^[A-Za-z]{2}$/.test(key)) throw new PorchlightError("validation_failed", "Parameter 'key': an ISO country code such as US", { param: "key" });
    return key.toUpperCase();
  }
  if (by === "asn" || by === "port") {
    const n = Number(key.replace(/^AS/i, ""));
    if (!/^(?:AS)?\d{1,10}$/i.test(key) || (by === "port" && n > 65535)) throw new PorchlightError("validation_failed", `Parameter 'key': ${by === "asn" ? "an AS number" : "a port 0-65535"}`, { param: "key" });
    return n;
  }
  if (!/^[A-Za-z0-9_.-]{1,253}$/.test(key)) throw new PorchlightError("validation_failed", "Parameter 'key': a domain name", { param: "key" });
  return key.toLowerCase();
}

/** Devices, destinations, sessions and network settings: the one registration app.ts calls. */
export function registerNetworkRoutes(app: Hono<AppEnv>): void {
  registerSessionRoutes(app);
  app.get("/v1/devices", requireScope("read"), async (c) => c.json({ devices: await storeOf(c.env).listDevices(Date.now()) }));

  app.get("/v1/devices/:id", requireScope("read"), async (c) => {
    const id = deviceId(c.req.param("id"));
    const d = await storeOf(c.env).getDevice(id, Date.now());
    if (!d) throw new PorchlightError("not_found", `No device with id '${id}'`);
    return c.json(d);
  });

  app.patch("/v1/devices/:id", requireScope("admin"), async (c) => {
    const id = deviceId(c.req.param("id"));
    const body = await parseJsonBody(c.req.raw, PatchBody);
    const d = await storeOf(c.env).patchDevice(id, body, Date.now());
    if (!d) throw new PorchlightError("not_found", `No device with id '${id}'`);
    return c.json(d);
  });

  app.get("/v1/devices/:id/destinations", requireScope("read"), async (c) => {
    const id = deviceId(c.req.param("id"));
    const by = param(BY, c.req.query("by") ?? "country", "by");
    const limit = param(LIMIT, c.req.query("limit"), "limit");
    const from = sinceMs(c.req.query("last"), Date.now(), "7d");
    return c.json({ buckets: await storeOf(c.env).deviceDestinations(id, by, lowerBound(from), limit) });
  });

  app.get("/v1/devices/:id/hourly", requireScope("read"), async (c) => {
    const id = deviceId(c.req.param("id"));
    const from = sinceMs(c.req.query("last"), Date.now(), "7d");
    return c.json({ hours: await storeOf(c.env).deviceHourly(id, from) });
  });

  app.get("/v1/destinations/devices", requireScope("read"), async (c) => {
    const by = param(BY, c.req.query("by"), "by");
    const key = destinationKey(by, c.req.query("key"));
    const limit = param(LIMIT, c.req.query("limit"), "limit");
    const from = sinceMs(c.req.query("last"), Date.now(), "7d");
    return c.json({ buckets: await storeOf(c.env).destinationTalkers(by, key, lowerBound(from), limit) });
  });
}
