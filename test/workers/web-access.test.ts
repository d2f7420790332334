/**
 * Cloudflare Access: the Cf-Access-Jwt-Assertion is verified (RS256) against the team's keys. The keys
 * come from a locally generated RSA key pair through the key-source seam, so real signatures are
 * checked by the real verification code; nothing of the platform is mocked.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../workers/app.ts";
import { setAccessKeySource, verifyAccessJwt, type Jwk } from "../../web/access.ts";

const TEAM = "home.cloudflareaccess.com";
const AUD = "aud-0123456789abcdef";

let keys: CryptoKeyPair;
let other: CryptoKeyPair;
let jwk: Jwk;
const fetched: string[] = [];

const b64url = (b: Uint8Array | string) =>
  btoa(typeof b === "string" ? b : String.fromCharCode(...b)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function sign(payload: Record<string, unknown>, opts: { key?: CryptoKey; kid?: string; alg?: string } = {}): Promise<string> {
  const head = b64url(JSON.stringify({ alg: opts.alg ?? "RS256", kid: opts.kid ?? "k1", typ: "JWT" }));
  const body = b64url(JSON.stringify(payload));
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", opts.key ?? keys.privateKey, new TextEncoder().encode(`${head}.${body}`));
  return `${head}.${body}.${b64url(new Uint8Array(sig))}`;
}

const now = () => Math.floor(Date.now() / 1000);
const good = () => ({ aud: [AUD], email: "owner@example.com", sub: "u1", iss: `https://${TEAM}`, iat: now() - 10, exp: now() + 600 });

const gen = () =>
  crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;

beforeAll(async () => {
  keys = await gen();
  other = await gen();
  jwk = { ...((await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey), kid: "k1" };
});

afterEach(() => setAccessKeySource(null));

function useKeys(): void {
  fetched.length = 0;
  setAccessKeySource(async (url) => {
    fetched.push(url);
    return { keys: [jwk] };
  });
}

describe("Access JWT verification", () => {
  it("accepts a token signed by the team key and names its email; keys are fetched once from the team's certs URL and cached", async () => {
    useKeys();
    const r = await verifyAccessJwt(await sign(good()), TEAM, AUD);
    expect(r).toMatchObject({ email: "owner@example.com", sub: "u1" });
    await verifyAccessJwt(await sign(good()), TEAM, AUD);
    expect(fetched).toEqual([`https://${TEAM}/cdn-cgi/access/certs`]);
  });

  it.each([
    ["wrong audience", () => sign({ ...good(), aud: ["someone-else"] })],
    ["wrong issuer", () => sign({ ...good(), iss: "https://evil.cloudflareaccess.com" })],
    ["expired", () => sign({ ...good(), exp: now() - 3600 })],
    ["not yet valid", () => sign({ ...good(), nbf: now() + 3600 })],
    ["no email", () => sign({ ...good(), email: undefined })],
    ["bad signature", () => sign(good(), { key: other.privateKey })],
    ["unknown signing key", () => sign(good(), { kid: "k9" })],
    ["unsupported alg", () => sign(good(), { alg: "HS256" })],
  ])("refuses %s", async (reason, make) => {
    useKeys();
    const r = await verifyAccessJwt(await make(), TEAM, AUD);
    expect(r).toEqual({ reason: expect.stringContaining(reason.split(" ")[0]!) });
  });

  it("refuses garbage without throwing", async () => {
    useKeys();
    for (const t of ["", "a.b", "a.b.c", "x".repeat(5000), "eyJhbGciOiJub25lIn0.e30."]) {
      expect("reason" in (await verifyAccessJwt(t, TEAM, AUD))).toBe(true);
    }
  });

  it("refetches keys once when a token names a new kid (key rotation)", async () => {
    let calls = 0;
    const rotated = { ...jwk, kid: "k2" };
    setAccessKeySource(async () => (++calls === 1 ? { keys: [jwk] } : { keys: [jwk, rotated] }));
    expect("email" in (await verifyAccessJwt(await sign(good()), TEAM, AUD))).toBe(true);
    expect("email" in (await verifyAccessJwt(await sign(good(), { kid: "k2" }), TEAM, AUD))).toBe(true);
    expect(calls).toBe(2);
  });
});

describe("Access in front of the console", () => {
  const accessEnv = () => ({ ...env, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD });

  it("a valid assertion opens the pages (creating a session with a CSRF token) and /v1 reads", async () => {
    useKeys();
    const app = createApp();
    const jwt = await sign(good());
    const page = await app.request("/", { headers: { "cf-access-jwt-assertion": jwt } }, accessEnv());
    expect(page.status).toBe(200);
    expect(page.headers.get("set-cookie")).toMatch(/^__Host-pl_session=/);
    const html = await page.text();
    expect(html).toContain("owner@example.com");
    expect(html).toMatch(/<meta name="csrf-token" content="[^"]+"/);
    const api = await app.request("/v1/relays", { headers: { "cf-access-jwt-assertion": jwt } }, accessEnv());
    expect(api.status).toBe(200);
  });

  it("a forged or expired assertion opens nothing", async () => {
    useKeys();
    const app = createApp();
    for (const jwt of [await sign(good(), { key: other.privateKey }), await sign({ ...good(), exp: now() - 3600 })]) {
      const page = await app.request("/", { headers: { "cf-access-jwt-assertion": jwt }, redirect: "manual" }, accessEnv());
      expect(page.status).toBe(303);
      expect(page.headers.get("set-cookie")).toBeNull();
      expect((await app.request("/v1/relays", { headers: { "cf-access-jwt-assertion": jwt } }, accessEnv())).status).toBe(401);
    }
  });

  it("is ignored when Access is not configured", async () => {
    useKeys();
    const res = await createApp().request("/v1/relays", { headers: { "cf-access-jwt-assertion": await sign(good()) } }, env);
    expect(res.status).toBe(401);
  });
});
