/**
 * Records keyed by untrusted text (a log line's program name, a firewall action word, a key=value key, a
 * value a rule has seen): a plain `{}` answers `constructor`, `toString` or `__proto__` with an
 * Object.prototype member, and `o["__proto__"] = v` changes its prototype instead of storing a key.
 *
 * Invariant: every table in workers/ that is read with text from a log line or a rule's input is built by
 * `table` (or is a Map), and every record written with such keys is made by `record` or written by
 * `setOwn`; test/unit/prototype-keys.test.ts feeds every Object.prototype name through the parsers' paths.
 */

/** A frozen lookup table without a prototype: a key it was not built with finds undefined. */
export function table<V>(entries: { readonly [key: string]: V }): Readonly<Record<string, V | undefined>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, V>, entries));
}

/** An empty record without a prototype, for keys taken from input (`__proto__` is an ordinary key in it). */
export function record<V>(): Record<string, V> {
  return Object.create(null) as Record<string, V>;
}

/**
 * Sets `key` on a record that may have Object.prototype (one that came back from JSON or structured
 * clone, or a literal): "__proto__" becomes an own key instead of changing the prototype.
 */
export function setOwn<V>(obj: Record<string, V>, key: string, value: V): void {
  if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** obj[key] when `obj` holds it itself, else undefined (never an inherited Object.prototype member). */
export function getOwn<V>(obj: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
