/**
 * Property-based fuzzing of every route of the ingest/query API with fast-check: arbitrary bytes, gzip
 * (valid, truncated, bogus), NDJSON built from arbitrary JSON, arbitrary headers, query strings, paths
 * and JSON bodies. The property: never a 5xx, and every 4xx carries `{"error": {"code", "message"}}`.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, gzip } from "./api-client.ts";

const RUNS = 60;

async function expectNo5xx(res: Response, what: string): Promise<void> {
  expect(res.status, what).toBeLessThan(500);
  if (res.status >= 400) {
    const text = await res.text();
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${what}: ${res.status} body is not JSON: ${text.slice(0, 200)}`);
    }
    expect(typeof body.error?.code, what).toBe("string");
    expect(typeof body.error?.message, what).toBe("string");
  } else {
    await res.arrayBuffer();
  }
}

/** Header values fetch() accepts: visible ASCII and spaces, no CR/LF/NUL. */
const headerValue = fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "").trim());
const contentType = fc.oneof(
  fc.constantFrom("text/plain", "text/plain; charset=latin1", "application/x-ndjson", "application/ndjson", "application/json", "", "multipart/form-data"),
  headerValue,
);
const contentEncoding = fc.oneof(fc.constantFrom("gzip", "x-gzip", "identity", "", "br", "deflate"), headerValue);
const bytes = fc.uint8Array({ maxLength: 2048 });
const ndjsonBody = fc
  .array(
    fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.record({ raw: fc.string({ maxLength: 200 }), received_at: fc.oneof(fc.string(), fc.date({ noInvalidDate: true }).map((d) => d.toISOString())), source_ip: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()), transport: fc.string() }, { requiredKeys: ["raw"] }).map((o) => JSON.stringify(o)),
      fc.string({ maxLength: 100 }),
    ),
    { maxLength: 30 },
  )
  .map((lines) => lines.join("\n"));

describe("API fuzzing: no input yields a 500", () => {
  it("POST /v1/ingest and /v1/parse with arbitrary bodies, types and encodings", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1/ingest", "/v1/parse"),
        fc.oneof(bytes, ndjsonBody.map((s) => new TextEncoder().encode(s))),
        contentType,
        contentEncoding,
        fc.boolean(),
        fc.option(headerValue),
        async (path, body, type, encoding, compress, key) => {
          const payload = compress ? await gzip(body) : body;
          const headers: Record<string, string> = { "content-type": type, "content-encoding": encoding };
          if (key !== null) headers["idempotency-key"] = key;
          const res = await api(path, { method: "POST", body: payload, headers });
          await expectNo5xx(res, `${path} type=${type} enc=${encoding} gz=${compress}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("gzip bodies: valid, truncated and corrupted", async () => {
    await fc.assert(
      fc.asyncProperty(ndjsonBody, fc.nat(), fc.nat(255), async (text, cut, flip) => {
        const z = await gzip(text);
        const truncated = z.slice(0, cut % (z.length + 1));
        const corrupted = z.slice();
        if (corrupted.length > 10) corrupted[10 + (cut % (corrupted.length - 10))]! ^= flip || 1;
        for (const body of [z, truncated, corrupted]) {
          const res = await api("/v1/ingest", { method: "POST", body, headers: { "content-type": "application/x-ndjson", "content-encoding": "gzip" } });
          await expectNo5xx(res, "gzip");
        }
      }),
      { numRuns: RUNS / 2 },
    );
  });

  it("GET /v1/events with arbitrary query strings and ids", async () => {
    const key = fc.oneof(
      fc.constantFrom("last", "from", "to", "host", "program", "dataset", "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
        "user", "action", "outcome", "severity", "q", "regex", "limit", "cursor", "format", "not_host", "not_src_ip", "not_q", "not_regex", "not_severity"),
      fc.string({ maxLength: 12 }),
    );
    const value = fc.oneof(fc.string({ maxLength: 60 }), fc.ipV4(), fc.ipV6(), fc.integer().map(String), fc.constantFrom("15m", "0", "5000", "(a+)+$", "[", "10.0.0.0/8", "csv", "ndjson"));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(key, value), { maxLength: 8 }), fc.string({ maxLength: 40 }), async (pairs, id) => {
        const qs = new URLSearchParams(pairs).toString();
        await expectNo5xx(await api(`/v1/events?${qs}`), `events?${qs}`);
        await expectNo5xx(await api(`/v1/events/${encodeURIComponent(id)}`), `events/${id}`);
      }),
      { numRuns: RUNS },
    );
  });

  it("malformed percent-encoding in paths and query strings", async () => {
    for (const path of ["/v1/events/%E0%A4%A", "/v1/events/%", "/v1/sources/%ZZ", "/v1/sources/host:%C0%AF", "/v1/tokens/%", "/v1/extractors/%E0",
      "/v1/events?q=%E0%A4%A", "/v1/events?host=%", "/v1/events?%=1", "/v1/events?regex=%5B"]) {
      for (const method of ["GET", "DELETE", "PUT"]) {
        await expectNo5xx(await api(path, { method, json: method === "PUT" ? { timezone: "UTC", name: "n", pattern: "(?<a>x)" } : undefined }), `${method} ${path}`);
      }
    }
  });

  it("rule importers and address lists with arbitrary text (YAML-ish, SEC-ish, address-ish) never answer 5xx", async () => {
    const routes = fc.constantFrom(["POST", "/v1/rules/import/crowdsec"], ["POST", "/v1/rules/import/sigma"], ["POST", "/v1/rules/import/sec"], ["PUT", "/v1/lists/fz"], ["GET", "/v1/lists/fz"], ["DELETE", "/v1/lists/fz"]);
    const line = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom("type: leaky", "type: conditional", "capacity: -1", "filter: \"evt.Meta.log_type == 'ssh_failed-auth'\"", "condition: len(queue.Queue) >= 3", "cancel_on: x", "groupby: evt.Meta.source_ip", "leakspeed: 10s", "duration: 1s", "---",
        "title: t", "logsource: {product: linux, service: sshd}", "detection: {k: ['a*'], condition: k}", "detection: {s: {src_ip|cidr: '10.0.0.0/8'}, condition: 1 of s*}", "correlation: {type: event_count, rules: [x], timespan: 1m, condition: {gte: 2}}",
        "type=PairWithWindow", "ptype=RegExp", "pattern=(\\S+) x", "pattern2=$1 y", "window=5", "thresh=2", "desc=$1", "10.0.0.0/8", "::1", "2001:db8::/200", "[", "{}"),
    );
    await fc.assert(
      fc.asyncProperty(routes, fc.array(line, { maxLength: 12 }), contentType, async ([method, path], lines, type) => {
        const init: any = { method, headers: { "content-type": type }, body: method === "GET" || method === "DELETE" ? null : lines.join("\n") };
        await expectNo5xx(await api(path, init), `${method} ${path} ${JSON.stringify(lines)}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it("settings routes with arbitrary JSON and paths; arbitrary Authorization headers", async () => {
    const routes = fc.constantFrom(
      ["POST", "/v1/tokens"], ["DELETE", "/v1/tokens/"], ["POST", "/v1/extractors"], ["PUT", "/v1/extractors/"],
      ["DELETE", "/v1/extractors/"], ["GET", "/v1/extractors/"], ["PUT", "/v1/sources/"], ["GET", "/v1/sources/"], ["DELETE", "/v1/sources/"],
    );
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.record({ name: fc.string({ maxLength: 70 }), pattern: fc.string({ maxLength: 40 }), scopes: fc.array(fc.string({ maxLength: 8 })), timezone: fc.string({ maxLength: 30 }), program: fc.string(), enabled: fc.anything() }).map((o) => JSON.stringify(o)),
      fc.string({ maxLength: 100 }),
    );
    await fc.assert(
      fc.asyncProperty(routes, fc.string({ maxLength: 30 }), body, contentType, fc.option(headerValue), async ([method, path], suffix, json, type, auth) => {
        const url = path.endsWith("/") ? path + encodeURIComponent(suffix || "x") : path;
        const init: any = { method, headers: { "content-type": type }, body: method === "GET" || method === "DELETE" ? null : json };
        if (auth !== null) {
          init.token = null;
          init.headers.authorization = auth;
        }
        await expectNo5xx(await api(url, init), `${method} ${url}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
