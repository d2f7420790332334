/**
 * The cryptography of notifications, all WebCrypto: channel secrets sealed at rest (AES-256-GCM),
 * the one-time signed action URLs (HMAC-SHA256), the per-channel Telegram webhook secret and the
 * webhook body signature. Every key derives from the Worker secret NOTIFY_KEY (32+ random bytes,
 * base64) with HKDF under a purpose label, so no key ever serves two purposes.
 *
 * Invariant: nothing here logs; sealed text is `v1.<iv b64url>.<ciphertext b64url>`.
 */

const enc = new TextEncoder();
const dec = new TextDecoder();

export function b64url(bytes: ArrayBuffer | Uint8Array): string {
  const u = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]!);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export const toHex = (bytes: ArrayBuffer): string => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");

/** NOTIFY_KEY missing or too short: a deployment error, reported as such (never a silent plaintext fallback). */
export class MissingNotifyKey extends Error {
  constructor() {
    super("NOTIFY_KEY is not set (32 random bytes, base64): `wrangler secret put NOTIFY_KEY`; `npm start` generates one into .dev.vars");
  }
}

const keyCache = new Map<string, Promise<CryptoKey>>();

function rootBytes(secret: string | undefined): Uint8Array<ArrayBuffer> {
  if (!secret) throw new MissingNotifyKey();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = fromB64url(secret.trim().replace(/=+$/, ""));
  } catch {
    bytes = new Uint8Array(enc.encode(secret));
  }
  if (bytes.length < 16) throw new MissingNotifyKey();
  return bytes;
}

/** A key for one purpose ("seal", "action", "telegram", ...) derived from NOTIFY_KEY with HKDF-SHA256. */
function derive(secret: string | undefined, purpose: string, alg: "AES-GCM" | "HMAC"): Promise<CryptoKey> {
  const cacheKey = `${purpose}\u0000${secret}`;
  let k = keyCache.get(cacheKey);
  if (!k) {
    k = (async () => {
      const root = await crypto.subtle.importKey("raw", rootBytes(secret), "HKDF", false, ["deriveKey"]);
      const params = { name: "HKDF", hash: "SHA-256", salt: enc.encode("porchlight-notify"), info: enc.encode(purpose) };
      return alg === "AES-GCM"
        ? crypto.subtle.deriveKey(params, root, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"])
        : crypto.subtle.deriveKey(params, root, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]);
    })();
    keyCache.set(cacheKey, k);
    k.catch(() => keyCache.delete(cacheKey));
  }
  return k;
}

// --- Sealing (secrets at rest)

export async function seal(secret: string | undefined, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await derive(secret, "seal", "AES-GCM"), enc.encode(plaintext));
  return `v1.${b64url(iv)}.${b64url(ct)}`;
}

export async function unseal(secret: string | undefined, sealed: string): Promise<string> {
  const [v, iv, ct] = sealed.split(".");
  if (v !== "v1" || !iv || !ct) throw new Error("sealed value has an unknown layout");
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv: fromB64url(iv) }, await derive(secret, "seal", "AES-GCM"), fromB64url(ct));
  return dec.decode(pt);
}

// --- HMAC

export async function hmacHex(key: string, body: string): Promise<string> {
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", k, enc.encode(body)));
}

/** The secret Telegram must echo in X-Telegram-Bot-Api-Secret-Token for channel `channelId` (1-256 of [A-Za-z0-9_-]). */
export async function telegramSecret(secret: string | undefined, channelId: string): Promise<string> {
  return b64url(await crypto.subtle.sign("HMAC", await derive(secret, "telegram", "HMAC"), enc.encode(channelId)));
}

// --- One-time action URLs

export interface ActionClaim {
  /** Alert id. */
  a: string;
  /** Action (only "ack" today). */
  x: "ack";
  /** Expiry, s since the epoch. */
  e: number;
  /** Nonce: its single use is recorded in D1 (notify_action_uses). */
  n: string;
}

/** `<payload b64url>.<hmac b64url>`: scoped to one alert and one action, valid until `expiresAt` (ms). */
export async function signAction(secret: string | undefined, alertId: string, action: "ack", expiresAt: number): Promise<string> {
  const claim: ActionClaim = { a: alertId, x: action, e: Math.floor(expiresAt / 1000), n: b64url(crypto.getRandomValues(new Uint8Array(12))) };
  const payload = b64url(enc.encode(JSON.stringify(claim)));
  const sig = await crypto.subtle.sign("HMAC", await derive(secret, "action", "HMAC"), enc.encode(payload));
  return `${payload}.${b64url(sig)}`;
}

export type VerifyResult = { status: "ok"; claim: ActionClaim } | { status: "invalid" } | { status: "expired" };

export async function verifyAction(secret: string | undefined, token: string, nowMs: number): Promise<VerifyResult> {
  const m = /^([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m) return { status: "invalid" };
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = fromB64url(m[2]!);
  } catch {
    return { status: "invalid" };
  }
  // crypto.subtle.verify compares in constant time.
  if (!(await crypto.subtle.verify("HMAC", await derive(secret, "action", "HMAC"), sig, enc.encode(m[1]!)))) return { status: "invalid" };
  let claim: ActionClaim;
  try {
    claim = JSON.parse(dec.decode(fromB64url(m[1]!))) as ActionClaim;
  } catch {
    return { status: "invalid" };
  }
  if (claim.x !== "ack" || typeof claim.a !== "string" || typeof claim.n !== "string" || typeof claim.e !== "number") return { status: "invalid" };
  if (claim.e * 1000 < nowMs) return { status: "expired" };
  return { status: "ok", claim };
}
