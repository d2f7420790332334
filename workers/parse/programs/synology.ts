/**
 * Synology DSM connection log lines (program `Connection`, `synoscgi`, or a service name): sign-ins
 * to DSM, SSH, SMB, FTP and friends, e.g. `User [admin] from [192.168.1.2] signed in to [DSM]
 * successfully via [password]`, `User [admin] from [203.0.113.9] failed to sign in to [DSM] via
 * [password] due to authorization failure.`, DSM 6's `... logged in successfully via [DSM]` / `failed to
 * log in via [DSM] ...`, and auto-block lines `Host [203.0.113.9] was blocked via [SSH].`
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { authEvent, peer } from "./common.ts";

const USER_FROM = /User \[([^\]]*)\] from \[([^\]]*)\]/;

export function parseSynology(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const m = USER_FROM.exec(msg);
  if (m) {
    const failed = /\bfailed\b|\bfailure\b|\bdenied\b/i.test(msg);
    const ok = !failed && /successfully|signed in|logged in/i.test(msg);
    const out = /signed out|logged out/i.test(msg);
    if (!failed && !ok && !out) return null;
    const service = /(?:to|via) \[([^\]]+)\]/.exec(msg.slice(m.index + m[0].length))?.[1];
    const f = authEvent("synology", out ? "logout" : "login", out ? "success" : ok ? "success" : "failure", m[1], peer(m[2]), out ? "end" : "start");
    if (service) f.porchlight = { fields: { service } };
    return f;
  }
  const b = /^(?:Host|IP address) \[([^\]]+)\] (?:of user \[([^\]]*)\] )?(?:was|has been) blocked (?:via|by) \[([^\]]+)\]/.exec(msg);
  if (b) {
    const f = authEvent("synology", "host_blocked", "failure", b[2], peer(b[1]), "info");
    f.event.category = ["network", "authentication"];
    f.event.type = ["denied"];
    f.porchlight = { fields: { service: b[3]! } };
    return f;
  }
  return null;
}

export const SYNOLOGY_SNIFF = /User \[[^\]]*\] from \[[^\]]*\]|^(?:Host|IP address) \[[^\]]+\] .*blocked/;
