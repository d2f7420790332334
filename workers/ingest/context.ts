/**
 * The parse context of ingest and /v1/parse: per-source timezones (`sources` table) and the user's
 * extractors (`extractors` table, compiled with compileExtractor). Compiling costs some CPU (a static analysis of
 * each pattern for catastrophic backtracking), so the compiled context is cached per isolate and reused while
 * the settings version (read in the same round trip as the batch lookup) is unchanged.
 */
import { compileExtractor } from "../parse/extractors.ts";
import { canonicalIp } from "../parse/ip.ts";
import type { CompiledExtractor, ParseContext } from "../parse/types.ts";
import type { SourceRow, Store, ExtractorRow } from "../store/store.ts";

/** `host:<lower-case hostname>` or `ip:<canonical address>`; null when the key is neither. */
export function canonicalSourceKey(key: string): string | null {
  if (key.startsWith("host:")) {
    const host = key.slice(5).toLowerCase();
    return /^[a-z0-9_][a-z0-9_.-]{0,252}$/.test(host) ? `host:${host}` : null;
  }
  if (key.startsWith("ip:")) {
    const ip = canonicalIp(key.slice(3));
    return ip ? `ip:${ip}` : null;
  }
  return null;
}

export function buildParseContext(sources: readonly SourceRow[], extractorRows: readonly ExtractorRow[]): ParseContext {
  const zones = new Map<string, string>();
  for (const s of sources) zones.set(s.key, s.timezone);
  const extractors: CompiledExtractor[] = [];
  for (const x of extractorRows) {
    if (!x.enabled) continue;
    const r = compileExtractor({ id: x.id, name: x.name, pattern: x.pattern, program: x.program, host: x.host });
    // Stored patterns were accepted when written; one that no longer compiles is skipped, not fatal.
    if (r.ok) extractors.push(r.extractor);
    else console.warn(JSON.stringify({ level: "warn", where: "extractors", id: x.id, error: r.error }));
  }
  return {
    extractors,
    timezoneFor(hostname, sourceIp) {
      if (zones.size === 0) return "UTC";
      if (hostname) {
        const z = zones.get(`host:${hostname.toLowerCase()}`);
        if (z) return z;
      }
      if (sourceIp) {
        const z = zones.get(`ip:${sourceIp}`) ?? zones.get(`ip:${canonicalIp(sourceIp) ?? ""}`);
        if (z) return z;
      }
      return "UTC";
    },
  };
}

/** Pure cache, per isolate: the compiled context of one settings version (a version names its settings). */
let cached: { version: string; ctx: ParseContext } | null = null;

/** The compiled context for settings `version`, loading and compiling only when it changed. */
export async function parseContextFor(store: Store, version: string): Promise<ParseContext> {
  if (cached && cached.version === version) return cached.ctx;
  const s = await store.parseSettings();
  const ctx = buildParseContext(s.sources, s.extractors);
  cached = { version: s.version, ctx };
  return ctx;
}
