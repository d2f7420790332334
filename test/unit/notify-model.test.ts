/**
 * The pure parts of notifications in Node: reasons to notify (idempotent on a replayed change),
 * routing filters, redaction of secrets in URLs, blackout windows (crossing midnight, DST, one-off),
 * the retry policy (classification, Retry-After, backoff bounds) and the action-link signature.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { deliveryKey, matchesFilter, reasonFor, redactUrl, scrubUrl, type AlertSummary, type Blackout } from "../../workers/notify/model.ts";
import { activeWindow, nextStart } from "../../workers/notify/blackout.ts";
import { signAction, verifyAction } from "../../workers/notify/crypto.ts";
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, classify, retryAfterMs, retryDelay } from "../../workers/notify/retry.ts";

const alert = (over: Partial<AlertSummary> = {}): AlertSummary => ({
  id: "al_1", rule_id: "ssh-brute-force", resource: "nas", severity: "medium", previous_severity: null, status: "open", title: "t", text: "x",
  duplicate_count: 0, tags: ["ssh"], first_seen: "2026-12-01T00:00:00.000Z", last_seen: "2026-12-01T00:00:00.000Z", updated_at: "2026-12-01T00:00:00.000Z", ...over,
});

describe("reasonFor", () => {
  it("new, reopened, severity, repeat, close; the same change twice yields nothing the second time", () => {
    expect(reasonFor(null, alert())).toBe("new");
    expect(reasonFor(null, alert({ status: "closed" }))).toBeNull();
    const seen = { severity: "medium", status: "open", duplicate_count: 0 };
    expect(reasonFor(seen, alert())).toBeNull();
    expect(reasonFor(seen, alert({ duplicate_count: 1 }))).toBe("repeat");
    expect(reasonFor(seen, alert({ severity: "high", duplicate_count: 1 }))).toBe("severity");
    expect(reasonFor(seen, alert({ severity: "low", duplicate_count: 1 }))).toBe("repeat");
    expect(reasonFor({ ...seen, status: "closed" }, alert({ duplicate_count: 1 }))).toBe("reopened");
    expect(reasonFor({ ...seen, status: "expired" }, alert())).toBe("reopened");
    expect(reasonFor(seen, alert({ status: "closed" }))).toBe("close");
    expect(reasonFor({ ...seen, status: "closed" }, alert({ status: "closed" }))).toBeNull();
    expect(reasonFor(seen, alert({ status: "ack" }))).toBeNull();
  });

  it("delivery keys differ per occurrence of a reason and repeat for the same change", () => {
    expect(deliveryKey("al_1", "ch_1", "repeat", alert({ duplicate_count: 3 }))).toBe(deliveryKey("al_1", "ch_1", "repeat", alert({ duplicate_count: 3 })));
    expect(deliveryKey("al_1", "ch_1", "repeat", alert({ duplicate_count: 3 }))).not.toBe(deliveryKey("al_1", "ch_1", "repeat", alert({ duplicate_count: 4 })));
    expect(deliveryKey("al_1", "ch_1", "reopened", alert({ updated_at: "a" }))).not.toBe(deliveryKey("al_1", "ch_1", "reopened", alert({ updated_at: "b" })));
  });
});

describe("matchesFilter", () => {
  it("min_severity, rules and tags all apply; empty lists match everything", () => {
    expect(matchesFilter({ rules: [], tags: [] }, alert())).toBe(true);
    expect(matchesFilter({ min_severity: "high", rules: [], tags: [] }, alert())).toBe(false);
    expect(matchesFilter({ min_severity: "medium", rules: ["ssh-brute-force"], tags: [] }, alert())).toBe(true);
    expect(matchesFilter({ rules: ["other"], tags: [] }, alert())).toBe(false);
    expect(matchesFilter({ rules: [], tags: ["dns", "ssh"] }, alert())).toBe(true);
    expect(matchesFilter({ rules: [], tags: ["dns"] }, alert())).toBe(false);
  });
});

describe("redactUrl", () => {
  it("keeps scheme, host and port; hides credentials, every path segment and query values", () => {
    expect(redactUrl("https://discord.com/api/webhooks/123/abc")).toBe("https://discord.com/***/***/***/***");
    expect(redactUrl("https://user:pw@gotify.lan:8443/message?token=AbC")).toBe("https://***@gotify.lan:8443/***?token=***");
    expect(redactUrl("https://hooks.example")).toBe("https://hooks.example/");
    expect(redactUrl("not a url")).toBe("***");
  });

  it("scrubs a URL and bot tokens out of an error message", () => {
    const url = "https://api.telegram.org/bot123456:SECRETtoken/sendMessage";
    expect(scrubUrl(`Fetch failed: ${url} (connection refused)`, url)).toBe("Fetch failed: https://api.telegram.org/***/*** (connection refused)");
    expect(scrubUrl("error near bot123456:SECRETtoken", "https://x")).toBe("error near bot***");
  });

  it("never lets a secret path segment, password or query value through", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{8,20}$/), (secret) => {
        for (const u of [`https://h.example/${secret}`, `https://h.example/a/${secret}`, `https://u:${secret}@h.example/`, `https://h.example/x?k=${secret}`]) expect(redactUrl(u)).not.toContain(secret);
      }),
    );
  });
});

describe("blackout windows", () => {
  const night: Blackout = { id: "b", name: "night", filter: { channels: [], rules: [], tags: [] }, days: ["mon"], from: "22:00", to: "07:00", timezone: "Europe/Berlin" };

  it("a window crossing midnight starts on its listed day and ends the next morning, in local time", () => {
    // Monday 2026-12-07 22:00 in Berlin (UTC+1) = 21:00Z; ends Tuesday 07:00 local = 06:00Z.
    const start = Date.parse("2026-12-07T21:00:00Z");
    const end = Date.parse("2026-12-08T06:00:00Z");
    expect(activeWindow(night, start - 1)).toBeNull();
    expect(activeWindow(night, start)).toEqual({ start, end });
    expect(activeWindow(night, end - 1)).toEqual({ start, end });
    expect(activeWindow(night, end)).toBeNull();
    expect(nextStart(night, Date.parse("2026-12-06T12:00:00Z"))).toBe(start);
    // Not on Tuesday night.
    expect(activeWindow(night, Date.parse("2026-12-08T22:00:00Z"))).toBeNull();
  });

  it("follows DST: the same local times are an hour apart in UTC in summer", () => {
    const summer = activeWindow(night, Date.parse("2026-07-06T21:00:00Z"));
    expect(summer).toEqual({ start: Date.parse("2026-07-06T20:00:00Z"), end: Date.parse("2026-07-07T05:00:00Z") });
  });

  it("a one-off window is [start, end)", () => {
    const b: Blackout = { id: "o", name: "maint", filter: { channels: [], rules: [], tags: [] }, start: 1000, end: 2000 };
    expect([activeWindow(b, 999), activeWindow(b, 1000), activeWindow(b, 1999), activeWindow(b, 2000)]).toEqual([null, { start: 1000, end: 2000 }, { start: 1000, end: 2000 }, null]);
    expect(nextStart(b, 0)).toBe(1000);
    expect(nextStart(b, 1500)).toBeNull();
  });
});

describe("retry policy", () => {
  it("2xx ok; 408, 429 and 5xx retryable; other 4xx permanent", () => {
    expect(classify(200, "", null).ok).toBe(true);
    for (const s of [408, 429, 500, 502, 503]) expect(classify(s, "", null)).toMatchObject({ ok: false, retryable: true });
    for (const s of [400, 401, 403, 404, 410, 413]) expect(classify(s, "", 5000)).toMatchObject({ ok: false, retryable: false, retryAfterMs: null });
  });

  it("Retry-After in seconds or as an HTTP date, capped at an hour", () => {
    const now = Date.parse("2026-12-06T12:00:00Z");
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs("Sun, 06 Dec 2026 12:01:00 GMT", now)).toBe(60_000);
    expect(retryAfterMs("99999", now)).toBe(3_600_000);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });

  it("backoff doubles with jitter in [d/2, d] and never exceeds the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, r) => {
        const d = Math.min(BACKOFF_BASE_MS * 2 ** (attempt - 1), BACKOFF_MAX_MS);
        const got = retryDelay(attempt, null, () => r);
        expect(got).toBeGreaterThanOrEqual(Math.floor(d / 2));
        expect(got).toBeLessThanOrEqual(d);
      }),
    );
    expect(retryDelay(1, 120_000)).toBe(120_000);
  });
});

describe("action links", () => {
  const KEY = "dGVzdC1ub3RpZnkta2V5LTAxMjM0NTY3ODlhYmNkZWY";
  it("verify only unaltered, unexpired links signed with the same key", async () => {
    const now = Date.now();
    const token = await signAction(KEY, "al_0123", "ack", now + 60_000);
    expect(await verifyAction(KEY, token, now)).toMatchObject({ status: "ok", claim: { a: "al_0123", x: "ack" } });
    expect(await verifyAction(KEY, token, now + 61_000)).toEqual({ status: "expired" });
    expect(await verifyAction("b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXk", token, now)).toEqual({ status: "invalid" });
    const [payload, sig] = token.split(".");
    const forged = btoa(JSON.stringify({ a: "al_other", x: "ack", e: 9e9, n: "n" })).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    expect(await verifyAction(KEY, `${forged}.${sig}`, now)).toEqual({ status: "invalid" });
    expect(await verifyAction(KEY, `${payload}.${sig!.slice(0, -1)}`, now)).toEqual({ status: "invalid" });
  });
});
