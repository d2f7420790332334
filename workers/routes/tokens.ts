/**
 * `/v1/tokens` (admin scope): create, list and revoke API tokens. A token (`pl_<id>_<secret>`) is
 * returned once, at creation; only its SHA-256 is stored. Revocation deletes the row, and every request
 * resolves its token from D1 (workers/auth.ts), so a revoked token fails on its very next request.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { requireScope, sha256Hex, type AppEnv } from "../auth.ts";
import { SCOPES } from "../env.ts";
import { PorchlightError } from "../errors.ts";
import { storeOf } from "../store/d1.ts";
import { parseJsonBody } from "./json-body.ts";

const CreateToken = z.object({
  name: z.string().trim().min(1).max(64),
  scopes: z.array(z.enum(SCOPES as [string, ...string[]])).min(1).max(3),
});

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** `n` characters drawn uniformly from `alphabet` (its length divides 256, so no modulo bias). */
function randomString(alphabet: string, n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n * 2));
  let out = "";
  for (let i = 0; out.length < n && i < bytes.length; i++) {
    const b = bytes[i]!;
    // Rejection sampling keeps the 36-letter id alphabet unbiased.
    if (b < 256 - (256 % alphabet.length)) out += alphabet[b % alphabet.length];
  }
  return out.length === n ? out : out + randomString(alphabet, n - out.length);
}

export function registerTokenRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/tokens", requireScope("admin"), async (c) => {
    const body = await parseJsonBody(c.req.raw, CreateToken);
    const id = randomString(ID_ALPHABET, 12);
    const token = `pl_${id}_${randomString(SECRET_ALPHABET, 40)}`;
    const row = { id, name: body.name, scopes: [...new Set(body.scopes)], created_at: Date.now(), last_used_at: null };
    await storeOf(c.env).createToken(row, await sha256Hex(token));
    return c.json({ ...row, token }, 201);
  });

  app.get("/v1/tokens", requireScope("admin"), async (c) => {
    return c.json({ tokens: await storeOf(c.env).listTokens() });
  });

  app.delete("/v1/tokens/:id", requireScope("admin"), async (c) => {
    const id = c.req.param("id");
    if (!(await storeOf(c.env).deleteToken(id))) throw new PorchlightError("not_found", `No token with id '${id.slice(0, 64)}'`);
    return c.body(null, 204);
  });
}
