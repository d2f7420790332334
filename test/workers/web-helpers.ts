/** Shared helpers of the web view's workerd tests: tokens, login through the real /login, page CSRF tokens. */
import { SELF, env } from "cloudflare:test";
import { sha256Hex } from "../../workers/auth.ts";
import type { Scope } from "../../workers/env.ts";

export const BASE = "https://porchlight.test";
export const ADMIN = "test-admin-token-0123456789";

let n = 0;
/** Creates a token row exactly as the tokens API stores it (id, sha256 of the whole token). */
export async function makeToken(scopes: Scope[], name = `t${++n}`): Promise<{ id: string; token: string }> {
  const id = `tok${Date.now().toString(36)}${(++n).toString(36)}`.toLowerCase().slice(0, 24);
  const token = `pl_${id}_${crypto.randomUUID().replace(/-/g, "")}`;
  await env.DB.prepare("INSERT INTO tokens (id, name, scopes, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(id, name, JSON.stringify(scopes), await sha256Hex(token), Date.now())
    .run();
  return { id, token };
}

export interface Login {
  res: Response;
  cookie: string;
  /** `name=value` of the session cookie, for a Cookie header. */
  sessionId: string;
  csrf: string;
}

let ipSeq = 0;
/** A fresh client address per login so the rate limiter of one test does not leak into another. */
export const freshIp = (): string => `203.0.113.${(++ipSeq % 250) + 1}`;

export async function login(token: string, ip = freshIp()): Promise<Login> {
  const res = await SELF.fetch(`${BASE}/login`, {
    method: "POST",
    body: new URLSearchParams({ token }),
    headers: { "content-type": "application/x-www-form-urlencoded", origin: BASE, "cf-connecting-ip": ip },
    redirect: "manual",
  });
  const setCookie = res.headers.get("set-cookie") ?? "";
  const sessionId = setCookie.split(";")[0] ?? "";
  const page = await SELF.fetch(`${BASE}/`, { headers: { cookie: sessionId }, redirect: "manual" });
  const html = await page.text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(html)?.[1] ?? "";
  return { res, cookie: setCookie, sessionId, csrf };
}
