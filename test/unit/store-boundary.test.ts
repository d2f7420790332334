/**
 * The storage boundary (docs/decisions.md, "All storage behind one Store interface"): no SQL in the
 * Worker or the web client outside workers/store/, and the D1 binding touched only by the Store's
 * factory (workers/store/d1.ts). Durable Objects keep SQL for their own SQLite, never for the database.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

const SQL = /\b(SELECT\s[^"'`]*\bFROM|INSERT\s+(OR\s+\w+\s+)?INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b/;
const D1 = /\benv\.DB\b|\bd1Sql\(|\bd1Store\(/;

it("has no SQL in workers/ or web/ outside workers/store/", () => {
  const offenders = [...sources("workers"), ...sources("web")].filter((f) => !f.startsWith("workers/store/") && SQL.test(readFileSync(join(root, f), "utf8")));
  expect(offenders).toEqual([]);
});

it("reaches D1 only through storeOf(env) (workers/store/d1.ts)", () => {
  const offenders = [...sources("workers"), ...sources("web"), ...sources("durable-objects")].filter((f) => f !== "workers/store/d1.ts" && D1.test(readFileSync(join(root, f), "utf8")));
  expect(offenders).toEqual([]);
});

it("the checks see a violation (they are not vacuous)", () => {
  expect(SQL.test('await db.prepare("DELETE FROM notify_blackouts WHERE id = ?1")')).toBe(true);
  expect(SQL.test("SELECT doc FROM flows WHERE key = ?")).toBe(true);
  expect(D1.test("loadChannel(c.env.DB, key, id)")).toBe(true);
  expect(sources("workers").length).toBeGreaterThan(50);
});
