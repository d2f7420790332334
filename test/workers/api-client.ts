/** Small HTTP helpers for the workerd API tests: requests through SELF with a token, tokens by scope. */
import { SELF } from "cloudflare:test";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const BASE = "https://porchlight.test";

export interface ApiInit extends Omit<RequestInit, "body"> {
  token?: string | null;
  json?: unknown;
  body?: BodyInit | null;
}

export async function api(path: string, init: ApiInit = {}): Promise<Response> {
  const headers = new Headers(init.headers as HeadersInit | undefined);
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body = init.body ?? null;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(BASE + path, { ...init, headers, body } as RequestInit);
}

/** Creates a token with `scopes` through the API and returns it. */
export async function tokenWith(...scopes: string[]): Promise<string> {
  const res = await api("/v1/tokens", { method: "POST", json: { name: `test-${scopes.join("-")}`, scopes } });
  if (res.status !== 201) throw new Error(`token creation failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

/** Posts a text/plain batch (admin token unless given) and returns status and JSON body. */
export async function ingest(lines: string | string[], init: ApiInit = {}): Promise<{ status: number; body: any }> {
  const text = Array.isArray(lines) ? lines.join("\n") + "\n" : lines;
  const headers = new Headers(init.headers as HeadersInit | undefined);
  if (!headers.has("content-type")) headers.set("content-type", "text/plain");
  const res = await api("/v1/ingest", { method: "POST", ...init, headers, body: init.body ?? text });
  return { status: res.status, body: await res.json() };
}

export async function gzip(text: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
