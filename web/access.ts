/**
 * Optional Cloudflare Access in front of the console. When ACCESS_TEAM_DOMAIN and ACCESS_AUD are set,
 * the `Cf-Access-Jwt-Assertion` header (an RS256 JWT signed by the team's keys) is verified here and
 * the email it names becomes the principal. Keys come from `https://<team>/cdn-cgi/access/certs` and
 * are cached per team; an unknown `kid` refetches once (Access rotates keys every six weeks).
 * Docs: https://developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/
 *
 * The key source is a seam (`setAccessKeySource`) so tests verify real signatures made with a locally
 * generated RSA key instead of mocking fetch.
 */

export interface Jwk extends JsonWebKey {
  kid?: string;
}
export interface Jwks {
  keys: Jwk[];
}
export type AccessKeySource = (certsUrl: string) => Promise<Jwks>;

export interface AccessIdentity {
  email: string;
  /** JWT `sub`: the Access user id. */
  sub: string;
  /** Expiry of the assertion, ms since epoch. */
  expiresAt: number;
}

/** Keys are refreshed at most this often unless a token names a kid we do not have (ms). */
const KEY_CACHE_MS = 60 * 60 * 1000;
/** Clock skew tolerated on exp/nbf/iat (s). */
const CLOCK_SKEW_S = 60;

const defaultSource: AccessKeySource = async (url) => {
  const res = await fetch(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`Access certs: HTTP ${res.status}`);
  return (await res.json()) as Jwks;
};

let keySource: AccessKeySource = defaultSource;
const cache = new Map<string, { keys: Map<string, CryptoKey>; fetchedAt: number }>();

/** Replace where the team's keys come from (tests); `null` restores the HTTPS fetch. Clears the cache. */
export function setAccessKeySource(source: AccessKeySource | null): void {
  keySource = source ?? defaultSource;
  cache.clear();
}

function b64urlBytes(s: string): Uint8Array<ArrayBuffer> {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function b64urlJson(s: string): Record<string, unknown> {
  const v: unknown = JSON.parse(new TextDecoder().decode(b64urlBytes(s)));
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
  return v as Record<string, unknown>;
}

async function loadKeys(team: string, force: boolean): Promise<Map<string, CryptoKey>> {
  const hit = cache.get(team);
  if (hit && !force && Date.now() - hit.fetchedAt < KEY_CACHE_MS) return hit.keys;
  const jwks = await keySource(`https://${team}/cdn-cgi/access/certs`);
  const keys = new Map<string, CryptoKey>();
  for (const jwk of jwks.keys ?? []) {
    if (jwk.kty !== "RSA" || !jwk.kid) continue;
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: jwk.kty, n: jwk.n, e: jwk.e, alg: "RS256", ext: true },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
    keys.set(jwk.kid, key);
  }
  cache.set(team, { keys, fetchedAt: Date.now() });
  return keys;
}

/**
 * Verifies an Access assertion. Returns the identity, or a reason string when it is not acceptable
 * (never throws for bad input; a failure to fetch keys is reported as a reason too).
 */
export async function verifyAccessJwt(
  token: string,
  team: string,
  aud: string,
  nowMs = Date.now(),
): Promise<AccessIdentity | { reason: string }> {
  const parts = token.split(".");
  if (parts.length !== 3) return { reason: "malformed token" };
  let header: Record<string, unknown>, payload: Record<string, unknown>, sig: Uint8Array<ArrayBuffer>;
  try {
    header = b64urlJson(parts[0]!);
    payload = b64urlJson(parts[1]!);
    sig = b64urlBytes(parts[2]!);
  } catch {
    return { reason: "malformed token" };
  }
  // Only RS256: refusing everything else closes the alg=none and HS256-with-public-key tricks.
  if (header.alg !== "RS256") return { reason: `unsupported alg ${String(header.alg)}` };
  const kid = typeof header.kid === "string" ? header.kid : "";
  let key: CryptoKey | undefined;
  try {
    key = (await loadKeys(team, false)).get(kid) ?? (await loadKeys(team, true)).get(kid);
  } catch (e) {
    return { reason: `cannot load Access keys: ${String(e)}` };
  }
  if (!key) return { reason: "unknown signing key" };
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  const ok = await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, sig, signed);
  if (!ok) return { reason: "bad signature" };

  const now = nowMs / 1000;
  const auds = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (!auds.includes(aud)) return { reason: "wrong audience" };
  if (payload.iss !== `https://${team}`) return { reason: "wrong issuer" };
  if (typeof payload.exp !== "number" || payload.exp + CLOCK_SKEW_S < now) return { reason: "expired" };
  if (typeof payload.nbf === "number" && payload.nbf - CLOCK_SKEW_S > now) return { reason: "not yet valid" };
  if (typeof payload.iat === "number" && payload.iat - CLOCK_SKEW_S > now) return { reason: "issued in the future" };
  if (typeof payload.email !== "string" || !payload.email.includes("@")) return { reason: "no email" };
  return { email: payload.email, sub: typeof payload.sub === "string" ? payload.sub : "", expiresAt: payload.exp * 1000 };
}
