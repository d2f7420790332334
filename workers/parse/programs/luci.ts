/**
 * OpenWrt LuCI web UI logins. LuCI's dispatcher logs each password check through syslog(3) at
 * authpriv.warn (failures) / authpriv.info (successes):
 * `luci: failed login on /admin for root from 192.168.1.50`, `luci: accepted login on / for root from ...`.
 * The ident is whatever process runs LuCI: `uhttpd[1234]` (ucode/Lua handler inside uhttpd, OpenWrt
 * 19.07+), `luci`, or `lua`/CGI; so the text is recognised with or without its `luci: ` prefix.
 * LuCI writes "?" for an unknown user or address; those are left out rather than stored as "?".
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { authEvent, peer } from "./common.ts";

// Anchored at the start and every piece is a bounded class, so matching is linear in the line.
const LOGIN = /^(?:luci: )?(failed|accepted) login on (\S*) for (\S*) from (\S+)\s*$/;

export function parseLuci(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const m = LOGIN.exec(msg);
  if (!m) return null;
  const user = m[3] === "?" ? undefined : m[3];
  const source = m[4] === "?" ? undefined : peer(m[4]);
  const f = authEvent("luci", "login", m[1] === "failed" ? "failure" : "success", user, source);
  f.porchlight = { fields: { path: m[2]! } };
  return f;
}

/** Cheap content check for lines whose program name was lost or unusual. */
export function isLuci(msg: string): boolean {
  return msg.charCodeAt(0) === 0x6c && msg.startsWith("luci: ") && msg.indexOf(" login on ", 6) > 0;
}
