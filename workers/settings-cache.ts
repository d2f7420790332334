/**
 * A per-isolate cache of one setting, keyed on the settings version that ingest's preflight reads in
 * the same round trip as its batch lookup (store SETTINGS_VERSION_SQL: sources, extractors, retention,
 * network settings). A saved setting changes the version, so the next batch in every isolate reloads it;
 * an unchanged version costs nothing more. Without a version (a caller outside ingest), it reads fresh.
 */
export interface VersionedCache<S, T> {
  get(source: S, version?: string): Promise<T>;
  /** Drops the cached value (after this isolate saved the setting). */
  forget(): void;
}

export function versionedCache<S, T>(load: (source: S) => Promise<T>): VersionedCache<S, T> {
  let cached: { version: string; value: T } | null = null;
  return {
    async get(source, version) {
      if (version === undefined) return load(source);
      if (cached && cached.version === version) return cached.value;
      const value = await load(source);
      cached = { version, value };
      return value;
    },
    forget() {
      cached = null;
    },
  };
}
