/**
 * Dropbear SSH server (OpenWrt's default sshd): password/pubkey successes, bad password attempts,
 * nonexistent users, "Exit before auth" aborts, session exits. Addresses come as `ip:port`,
 * `<ip:port>`, or `::ffff:a.b.c.d:port`. Also accepts dropbear's own `[pid] Mmm dd hh:mm:ss ` stamp
 * (seen when it logs to stderr and a supervisor forwards it).
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { authEvent, peer } from "./common.ts";

const DS = "dropbear";

/** "1.2.3.4:5543", "<1.2.3.4:5543>", "::ffff:1.2.3.4:60495", "[2001:db8::1]:22" → [addr, port]. */
function hostPort(s: string): [string, string | undefined] {
  let t = s.replace(/^<|>$/g, "");
  const b = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (b) return [b[1]!, b[2]];
  const i = t.lastIndexOf(":");
  if (i > 0 && /^\d+$/.test(t.slice(i + 1))) return [t.slice(0, i), t.slice(i + 1)];
  return [t, undefined];
}

const ADDR = "(<?[0-9A-Fa-f.:\\[\\]]+>?)";
const RULES: [RegExp, (m: RegExpExecArray) => ProgramFields][] = [
  [new RegExp(`^(Password|Pubkey) auth succeeded for '([^']*)'.* from ${ADDR}`), (m) => {
    const [a, p] = hostPort(m[3]!);
    const f = authEvent(DS, "ssh_login", "success", m[2], peer(a, p));
    f.porchlight = { fields: { ssh_method: m[1]!.toLowerCase() === "pubkey" ? "publickey" : "password" } };
    return f;
  }],
  [new RegExp(`^[Bb]ad (?:PAM )?password attempt for '([^']*)' from ${ADDR}`), (m) => {
    const [a, p] = hostPort(m[2]!);
    return authEvent(DS, "ssh_login", "failure", m[1], peer(a, p));
  }],
  [new RegExp(`^[Ll]ogin attempt for nonexistent user(?: '([^']*)')? from ${ADDR}`), (m) => {
    const [a, p] = hostPort(m[2]!);
    return authEvent(DS, "invalid_user", "failure", m[1], peer(a, p));
  }],
  // Exit before auth from <ip:port>: (user 'root', 10 fails): Max auth tries reached - user 'root'
  [new RegExp(`^Exit before auth from ${ADDR}: ?(.*)$`), (m) => {
    const [a, p] = hostPort(m[1]!);
    const u = /user '([^']*)'/.exec(m[2]!)?.[1];
    return authEvent(DS, "disconnect_preauth", "failure", u === "is invalid" ? undefined : u, peer(a, p), "end");
  }],
  // Exit before auth (user 'root', 10 fails): Max auth tries reached - user 'root' from 1.2.3.4:60588
  [new RegExp(`^Exit before auth \\(user '([^']*)'.*? from ${ADDR}\\s*$`), (m) => {
    const [a, p] = hostPort(m[2]!);
    return authEvent(DS, "max_auth_attempts", "failure", m[1], peer(a, p), "end");
  }],
  [/^Exit before auth(?: \(user '([^']*)'.*?\))?:? ?(.*)$/, (m) => authEvent(DS, "disconnect_preauth", "failure", m[1], undefined, "end")],
  [/^Exit \(([^)]*)\):? ?(.*)$/, (m) => {
    const f = authEvent(DS, "session_closed", undefined, m[1], undefined, "end");
    f.event.category = ["session"];
    return f;
  }],
  [new RegExp(`^Child connection from ${ADDR}`), (m) => {
    const [a, p] = hostPort(m[1]!);
    const f = authEvent(DS, "connection", undefined, undefined, peer(a, p), "start");
    f.event.category = ["network"];
    return f;
  }],
];

export function parseDropbear(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  let s = msg.trimEnd();
  if (s.charCodeAt(0) === 0x5b) s = s.replace(/^\[\d+\] \w{3} [ \d]?\d \d\d:\d\d:\d\d /, "");
  for (const [re, build] of RULES) {
    const m = re.exec(s);
    if (m) return build(m);
  }
  return null;
}

export const DROPBEAR_SNIFF = /^(?:\[\d+\] \w{3} [ \d]?\d \d\d:\d\d:\d\d )?(?:[Bb]ad (?:PAM )?password attempt for '|[Ll]ogin attempt for nonexistent user|Exit before auth|(?:Password|Pubkey) auth succeeded for ')/;
