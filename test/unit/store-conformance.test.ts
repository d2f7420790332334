/** The Store conformance suite against libSQL (a file database in a temp dir, migrated like D1). */
import { createClient, type Client } from "@libsql/client";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { libsqlStore } from "../../workers/store/libsql.ts";
import { storeConformance } from "./store-conformance.suite.ts";
import { createClient as createWebClient } from "@libsql/client/web";
import { startHranaServer, type HranaServer } from "../hrana-server.ts";

const migrationsDir = new URL("../../migrations/", import.meta.url).pathname;
let dir: string;
let client: Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "porchlight-libsql-"));
  client = createClient({ url: `file:${join(dir, "store.db")}` });
  for (const f of readdirSync(migrationsDir).filter((f) => f.endsWith(".sql")).sort()) {
    await client.executeMultiple(readFileSync(join(migrationsDir, f), "utf8").replaceAll("--> statement-breakpoint", ""));
  }
});

afterAll(() => {
  client?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// The libSQL Node client returns text only up to a NUL character; D1 keeps it (tested there).
storeConformance("libSQL", () => libsqlStore(client), { nulInText: false });

// Every method of the Store is exercised by the suite: a method added without a conformance test fails here.
it("the conformance suite calls every Store method", () => {
  const store = libsqlStore(client);
  const methods = new Set<string>();
  for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== "constructor" && typeof (store as unknown as Record<string, unknown>)[k] === "function") methods.add(k);
  }
  const suite = readFileSync(new URL("./store-conformance.suite.ts", import.meta.url), "utf8");
  methods.delete("one"); // SqlStore's private helper (one statement), not part of the interface
  const untested = [...methods].filter((m) => !suite.includes(`store.${m}(`));
  expect(methods.size).toBeGreaterThan(40);
  expect(untested).toEqual([]);
});

// The same suite over the network: the Worker's client (@libsql/client/web, Hrana over HTTP) against a
// libSQL server on loopback (test/hrana-server.ts: sqld itself installs from neither npm nor apt).
let server: HranaServer;
beforeAll(async () => {
  server = await startHranaServer({ file: join(dir, "server.db"), authToken: "conformance-token" });
  for (const f of readdirSync(migrationsDir).filter((f) => f.endsWith(".sql")).sort()) {
    await server.client.executeMultiple(readFileSync(join(migrationsDir, f), "utf8").replaceAll("--> statement-breakpoint", ""));
  }
});
afterAll(() => server?.close());
// The server's database is the libSQL Node client too, which cuts text at a NUL.
storeConformance("libSQL server (HTTP)", () => libsqlStore(createWebClient({ url: server.url, authToken: "conformance-token" })), { nulInText: false });
