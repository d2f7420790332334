/**
 * The web view's weight and static files, in Node: the first page (alerts) loads at most 50 KB of
 * gzipped JavaScript; the committed web/public output matches a fresh build of web/client; the
 * security headers for static files (_headers) match the ones the Worker sets on pages.
 */
import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { pageScripts, renderPage } from "../../web/pages.tsx";
import { SECURITY_HEADERS } from "../../web/headers.ts";
import { outputs } from "../../web/build.ts";

const PUB = resolve(import.meta.dirname, "../../web/public");
/** Budget for the first page's JavaScript, gzipped bytes (issue 5). */
const FIRST_PAGE_JS_BUDGET = 50 * 1024;

describe("web view bundle", () => {
  it("the first page's scripts weigh at most 50 KB gzipped", () => {
    const html = renderPage("alerts", { name: "admin", scopes: ["admin"], csrf: "x" });
    const srcs = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]!);
    expect(srcs).toEqual(pageScripts("alerts"));
    const gz = srcs.reduce((n, src) => n + gzipSync(readFileSync(join(PUB, src)), { level: 9 }).length, 0);
    console.log(`first page JavaScript: ${gz} bytes gzipped (budget ${FIRST_PAGE_JS_BUDGET}); reproduce: npx vitest run --config vitest.unit.config.ts test/unit/web-bundle.test.ts`);
    expect(gz).toBeGreaterThan(1000);
    expect(gz).toBeLessThanOrEqual(FIRST_PAGE_JS_BUDGET);
  });

  it("the committed web/public matches a fresh build (run `node web/build.ts` after changing web/client)", async () => {
    for (const [name, content] of await outputs()) {
      expect(Buffer.compare(readFileSync(join(PUB, name)), Buffer.from(content)), `web/public/${name} is stale`).toBe(0);
    }
  });

  it("the client shares the API's types without importing server code (only `import type` of workers/api-types.ts)", () => {
    const client = resolve(import.meta.dirname, "../../web/client");
    const shared: string[] = [];
    for (const name of readdirSync(client)) {
      const text = readFileSync(join(client, name), "utf8");
      for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+"([^"]+)"/gm)) {
        if (!m[2]!.startsWith(".") || m[2]!.startsWith("./")) continue; // same folder or a package
        expect(`${name}: ${m[0]}`).toMatch(/^[\w.-]+: import type .* from "\.\.\/\.\.\/workers\/api-types\.ts"$/);
        shared.push(name);
      }
    }
    expect(shared).toEqual(expect.arrayContaining(["alerts.ts", "overview.ts", "rules.ts"]));
    const api = readFileSync(resolve(import.meta.dirname, "../../workers/api-types.ts"), "utf8");
    expect(api).not.toMatch(/^import /m);
  });

  it("_headers gives static files the same security headers as pages", () => {
    const text = readFileSync(join(PUB, "_headers"), "utf8");
    const block = text.split(/^\/\*$/m)[1]!.split(/^\/\S/m)[0]!;
    const headers = Object.fromEntries(
      block.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#")).map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
    );
    expect(headers).toEqual(SECURITY_HEADERS);
  });

  it("no page has inline scripts, inline styles or event-handler attributes (the CSP forbids them)", () => {
    for (const page of ["alerts", "alert", "events", "rules", "heartbeats", "overview", "settings"] as const) {
      const html = renderPage(page, { name: "n", scopes: ["read"], csrf: "c" });
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    }
  });
});
