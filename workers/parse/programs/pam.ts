/**
 * Linux-PAM lines from any service (`pam_unix(<svc>:auth): authentication failure; ... rhost= user=`,
 * old `(pam_unix) authentication failure;`, `check pass; user unknown`, `session opened|closed for
 * user`, pam_tally/faillock lockouts). Program parsers (sshd, sudo, su) try these themselves; this module
 * also serves services without a parser of their own (vsftpd, login, cron...), as dataset "pam".
 */
import type { ProgramFields } from "../types.ts";
import { authEvent, peer } from "./common.ts";

const AUTH_FAIL = /^(?:pam_unix\((?:(\S+?):)?auth\):? |\(pam_unix\) |pam_unix: |)authentication failure; (.*)$/;

/**
 * The fields of a pam_unix failure. PAM prints `logname= uid= euid= tty= ruser= rhost= [user=]` in this
 * order and does not escape values, so a user name can smuggle in "rhost=...": the real user is all
 * after the first " user=", the real rhost the last one before it, ruser all between "ruser=" and it.
 */
export function pamAuthKv(kv: string): { rhost?: string; user?: string; ruser?: string; logname?: string } {
  const s = " " + kv.trim();
  const out: { rhost?: string; user?: string; ruser?: string; logname?: string } = {};
  let head = s;
  const u = s.indexOf(" user=");
  if (u >= 0) {
    out.user = s.slice(u + 6).trim() || undefined;
    head = s.slice(0, u);
  }
  const r = head.lastIndexOf(" rhost=");
  if (r >= 0) {
    out.rhost = head.slice(r + 7).trim().split(/\s+/)[0] || undefined;
    head = head.slice(0, r);
  }
  const ru = head.indexOf(" ruser=");
  if (ru >= 0) out.ruser = head.slice(ru + 7).trim() || undefined;
  const ln = /(?:^| )logname=(\S*)/.exec(head);
  if (ln?.[1]) out.logname = ln[1];
  return out;
}
const SESSION = /^(?:pam_unix\((\S+?):session\):? |)session (opened|closed) for user ([^\s(]+)(?:\(uid=\d+\))?(?: by ([^\s(]*))?/;

/**
 * Parses a PAM line for `dataset`. `actorIsRuser`: for su/sudo the person acting is ruser/logname and
 * `user=` is the account they tried to become (user.effective); for remote services `user=` is the
 * account tried and ruser is rarely set.
 */
export function parsePam(msg: string, dataset: string, actorIsRuser = false): ProgramFields | null {
  let m = AUTH_FAIL.exec(msg);
  if (m) {
    const kv = pamAuthKv(m[2]!);
    const target = kv.user || undefined;
    const actor = kv.ruser || kv.logname || undefined;
    const name = actorIsRuser ? actor ?? target : target ?? actor;
    const f = authEvent(dataset, "pam_auth_failure", "failure", name, peer(kv.rhost || undefined));
    if (actorIsRuser && target && target !== name) f.user = { ...f.user, effective: { name: target } };
    if (m[1]) f.porchlight = { fields: { pam_service: m[1] } };
    return f;
  }
  m = SESSION.exec(msg);
  if (m) {
    const opened = m[2] === "opened";
    const by = m[4] || undefined;
    const f = authEvent(dataset, opened ? "session_opened" : "session_closed", opened ? "success" : undefined, by ?? m[3], undefined, opened ? "start" : "end");
    f.event.category = ["session"];
    if (by && by !== m[3]) f.user = { name: by, effective: { name: m[3]! } };
    return f;
  }
  if (/check pass; user unknown/.test(msg)) return authEvent(dataset, "invalid_user", "failure", undefined, undefined, "info");
  m = /^pam_(?:tally2?|faillock)\(\S+\): user (\S+) \(\d+\) tally (\d+), deny (\d+)/.exec(msg);
  if (m) return authEvent(dataset, "account_locked", "failure", m[1], undefined, "info");
  m = /^pam_\w+\(\S+\): (?:authentication failure|Authentication failure)/.exec(msg);
  if (m) return authEvent(dataset, "pam_auth_failure", "failure", undefined, undefined);
  return null;
}

export const PAM_SNIFF = /^(?:pam_unix\(|\(pam_unix\) |pam_unix: |authentication failure; logname=|check pass; user unknown|session (?:opened|closed) for user |pam_tally|pam_faillock)/;
