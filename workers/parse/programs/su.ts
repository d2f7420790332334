/**
 * su: successes and failures in the shapes util-linux, shadow and BSD su log them —
 * `(to root) alice on pts/1`, `FAILED SU (to root) alice on pts/1`, `BAD SU alice to root on /dev/ttyp0`,
 * `alice to root on /dev/ttyp1`, `failed: ttyq4 changing from alice to root`, `+ pts/1 alice:root` /
 * `- pts/1 alice:root` — plus its PAM lines. user.name is who ran su, user.effective.name the target.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { authEvent } from "./common.ts";
import { parsePam } from "./pam.ts";

function su(action: string, outcome: "success" | "failure", user: string | undefined, target: string | undefined, tty?: string): ProgramFields {
  const f = authEvent("su", action, outcome, user, undefined, "start");
  if (target) {
    f.user = { ...(f.user ?? {}), effective: { name: target } };
    (f.related ??= {}).user = [...new Set([...(f.related.user ?? []), target])];
  }
  if (tty) f.porchlight = { fields: { tty } };
  return f;
}

export function parseSu(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const s = msg.trim();
  let m = /^(FAILED SU |)\(to (\S+)\) (\S+) on (\S+)/.exec(s);
  if (m) return su(m[1] ? "su_failure" : "su", m[1] ? "failure" : "success", m[3], m[2], m[4]);
  m = /^BAD SU (\S+) to (\S+)(?: on (\S+))?/.exec(s);
  if (m) return su("su_failure", "failure", m[1], m[2], m[3]);
  m = /^failed: (\S+) changing from (\S+) to (\S+)/.exec(s);
  if (m) return su("su_failure", "failure", m[2], m[3], m[1]);
  m = /^([+-]) (\S+) (\S+?):(\S+)$/.exec(s);
  if (m) return su(m[1] === "+" ? "su" : "su_failure", m[1] === "+" ? "success" : "failure", m[3], m[4], m[2]);
  m = /^(?:pam_authenticate: )?Authentication failure$/.exec(s);
  if (m) return su("su_failure", "failure", undefined, undefined);
  m = /^(\S+) to (\S+) on (\S+)$/.exec(s);
  if (m) return su("su", "success", m[1], m[2], m[3]);
  return parsePam(s, "su", true);
}
