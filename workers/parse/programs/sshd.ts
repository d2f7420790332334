/**
 * OpenSSH server messages (program `sshd`, OpenSSH ≥ 9.8's `sshd-session`/`sshd-auth`, RedHat's
 * `sshd(pam_unix)`) → ECS authentication events with source IP/port, user and outcome.
 *
 * Outcome policy (what rules count): "failure" only for a line that IS a failed authentication attempt,
 * the lines CrowdSec's sshd parser classifies `ssh_failed-auth` (failed/invalid/denied users, PAM
 * authentication failures, a client giving up mid-authentication as an authenticating or invalid user,
 * an invalid banner). Lines that only accompany an attempt or a connection — preauth disconnects
 * without a user, "Received disconnect", PAM's "N more authentication failures" summary, "maximum
 * authentication attempts exceeded", "input_userauth_request", "Did not receive identification string",
 * timeouts, negotiation and protocol errors, `Failed none` method probes — keep their own event.action (rules and CrowdSec's other
 * log types select them by action) but carry no outcome, so a health check or a client that gives up
 * politely is not a failed login. "success" for accepted logins and opened sessions. The line's own
 * text decides: no state is kept across lines (see test/conformance/program-deviations.md).
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { addRelated, authEvent, peer } from "./common.ts";
import { pamAuthKv, parsePam } from "./pam.ts";

const DS = "sshd";
/** Address token: IPv4, IPv6 (with an optional ::ffff: prefix) or a hostname. */
const A = "([0-9A-Za-z_.:%-]+)";

type Rule = [RegExp, (m: RegExpExecArray) => ProgramFields];

const fail = (action: string, m: RegExpExecArray, user?: string, type: "start" | "end" | "info" = "start"): ProgramFields =>
  authEvent(DS, action, "failure", user, peer(m.groups?.ip, m.groups?.port), type);
/** A line that accompanies an attempt or a connection: its action, peer and user, no outcome. */
const context = (action: string, m: RegExpExecArray, user?: string, type: "start" | "end" | "info" = "info"): ProgramFields =>
  authEvent(DS, action, undefined, user, peer(m.groups?.ip, m.groups?.port), type);

/** First word of a user token that may carry junk ("test 127.0.0.1" in forged lines). */
const firstWord = (u: string | undefined): string | undefined => (u === undefined ? undefined : u.split(" ")[0]);

const RULES: Rule[] = [
  // Accepted password for bob from 192.0.2.1 port 22 ssh2[: RSA SHA256:...]
  [new RegExp(`^Accepted (?<method>\\S+) for (?<user>\\S+) from ${A.replace("(", "(?<ip>")} port (?<port>\\d+)`), (m) => {
    const f = authEvent(DS, "ssh_login", "success", m.groups!.user, peer(m.groups!.ip, m.groups!.port), "start");
    f.event.category = ["authentication", "session"];
    f.porchlight = { fields: { ssh_method: m.groups!.method! } };
    return f;
  }],
  // Failed password for [invalid user ]bob from IP port N ssh2 — the LAST " from IP" wins (forged user names).
  [new RegExp(`^Failed (?<method>\\S+) for (?:(?<inv>invalid user |illegal user )?(?<user>.*?) )?from (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?(?: ssh\\d?)?(?::.*)?$`), (m) => {
    const g = m.groups!;
    // "for invalid user from 10.10.1.1 from 127.0.0.1": re-anchor on the last " from <addr> port"/end.
    let ip = g.ip, port = g.port, user = g.user;
    const last = /.* from ([0-9A-Za-z_.:%-]+) port (\d+)(?: ssh\d?)?(?::|$)/.exec(m.input.replace(/ ssh\d?: from .*$/, ""));
    if (last && last[1] !== ip) { ip = last[1]; port = last[2]; user = firstWord(user); }
    if (user === "<invalid username>") user = undefined;
    // "Failed none": the client asking which methods exist, no credential tried (CrowdSec does not count it either).
    const f = authEvent(DS, g.inv ? "invalid_user" : "ssh_login", g.method === "none" ? undefined : "failure", user, peer(ip, port), g.method === "none" ? "info" : "start");
    f.porchlight = { fields: { ssh_method: g.method! } };
    return f;
  }],
  // Invalid user bob from IP [port N]   (also "Illegal user")
  [new RegExp(`^(?:Invalid|Illegal) user (?<user>.*?) from (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?\\s*$`), (m) => fail("invalid_user", m, m.groups!.user)],
  // pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=IP  user=bob
  [/^(?:pam_unix\(sshd:auth\): |\(pam_unix\) |)authentication failure; (?<kv>.*)$/, (m) => pamFailure(m.groups!.kv!)],
  // PAM 2 more authentication failures; logname= ... rhost=IP user=root
  [/^(?:PAM )?\d+ more authentication failures?; (?<kv>.*)$/, (m) => {
    const k = pamAuthKv(m.groups!.kv!);
    return authEvent(DS, "pam_more_failures", undefined, k.user ?? k.ruser, peer(k.rhost), "info");
  }],
  // (error: ) PAM: Authentication failure for [illegal user ]bob from HOST [via IP]
  [new RegExp(`^PAM: (?:[Aa]uthentication (?:failure|error)|User not known to the underlying authentication module|unknown user) for (?:(?:illegal|invalid) user )?(?<user>.*?) from (?<ip>[0-9A-Za-z_.:%-]+)(?: via \\S+)?\\s*$`), (m) => fail("pam_auth_failure", m, m.groups!.user)],
  // User bob from IP not allowed because ...
  [new RegExp(`^User (?<user>\\S+) from (?<ip>[0-9A-Za-z_.:%-]+) not allowed because (?<why>.*)$`), (m) => fail("user_not_allowed", m, m.groups!.user)],
  [/^User (?<user>\S+) not allowed because (?<why>.*)$/, (m) => fail("user_not_allowed", m, m.groups!.user)],
  [new RegExp(`^ROOT LOGIN REFUSED FROM (?<ip>[0-9A-Za-z_.:%-]+)`), (m) => fail("root_login_refused", m, "root")],
  // refused connect from host (IP)   (tcp_wrappers)
  [/^refused connect from \S+ \((?<ip>[^)\s]+)\)/, (m) => context("refused_connect", m)],
  // maximum authentication attempts exceeded for [invalid user ]bob from IP port N ssh2 [preauth]
  [new RegExp(`^maximum authentication attempts exceeded for (?:invalid user )?(?<user>.*?) from (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?`), (m) => context("max_auth_attempts", m, m.groups!.user, "end")],
  // Disconnecting invalid user bob IP port N: ...   /  Disconnecting authenticating user ...
  [new RegExp(`^Disconnecting (?:invalid|authenticating) user (?<user>\\S*) (?<ip>[0-9A-Za-z_.:%-]+) port (?<port>\\d+)`), (m) => context("disconnect_preauth", m, m.groups!.user, "end")],
  // Disconnecting: Too many authentication failures [for bob] [preauth]
  [/^Disconnecting: Too many authentication failures(?: for (?<user>\S+))?/, (m) => context("max_auth_attempts", m, m.groups!.user, "end")],
  [/^Disconnecting: (?<why>.*?)(?: \[preauth\])?$/, (m) => context("protocol_error", m, undefined, "end")],
  // Connection closed|reset by [authenticating|invalid] user bob IP port N [preauth]
  // The user is everything up to the last "<addr> port N" (user names can contain spaces, as fail2ban's
  // injection tests show).
  // A client leaving mid-authentication as a named user is a failed attempt (CrowdSec: ssh_failed-auth).
  [new RegExp(`^(?:Connection (?:closed|reset) by|Disconnected from) (?<kind>authenticating|invalid) user (?<user>.*?) ?(?<ip>[0-9A-Za-z_.:%-]+) port (?<port>\\d+)(?<pre> \\[preauth\\])?$`), (m) =>
    m.groups!.pre ? fail("disconnect_preauth", m, m.groups!.user, "end") : context("disconnect_preauth", m, m.groups!.user, "end")],
  // Disconnected from user bob IP port N   (normal logout)
  [new RegExp(`^Disconnected from user (?<user>\\S+) (?<ip>[0-9A-Za-z_.:%-]+) port (?<port>\\d+)`), (m) =>
    authEvent(DS, "logout", undefined, m.groups!.user, peer(m.groups!.ip, m.groups!.port), "end")],
  // Connection closed|reset by IP [port N] [preauth]  /  Disconnected from IP port N [preauth]
  // Before authentication with a port, "Connection closed|reset by" is an abandoned attempt (CrowdSec
  // counts it); without a port (older sshd) or "Disconnected from", it only ends a connection.
  [new RegExp(`^(?<verb>Connection (?:closed|reset) by|Disconnected from) (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?(?<pre> \\[preauth\\])?\\s*$`), (m) => {
    const g = m.groups!;
    if (!g.pre) return authEvent(DS, "disconnect", undefined, undefined, peer(g.ip, g.port), "end");
    return g.port && g.verb!.startsWith("Connection") ? fail("disconnect_preauth", m, undefined, "end") : context("disconnect_preauth", m, undefined, "end");
  }],
  // Received disconnect from IP [port N]:11: reason [preauth] — the client's goodbye after its attempts
  // (each attempt has its own line): context, never an attempt itself.
  [new RegExp(`^Received disconnect from (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?:\\s*(?<code>\\d+):\\s*(?<why>.*?)(?<pre> \\[preauth\\])?\\s*$`), (m) => {
    const g = m.groups!;
    const preauth = g.pre !== undefined || g.code === "3" || g.code === "14" || /Auth fail/i.test(g.why!);
    return context(preauth ? "disconnect_preauth" : "disconnect", m, undefined, "end");
  }],
  // Did not receive identification string from IP [port N]
  [new RegExp(`^Did not receive identification string from (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?`), (m) => context("no_identification", m)],
  // Bad protocol version identification '...' from IP port N  (the last "from" wins)
  [new RegExp(`^Bad protocol version identification .* from (?<ip>[0-9A-Za-z_.:%-]+)(?: port (?<port>\\d+))?\\s*$`), (m) => context("bad_protocol_version", m)],
  // Timeout before authentication for [connection from] IP [port N | to ...]
  [new RegExp(`^Timeout before authentication for (?:connection from )?(?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+)|,| to |\\s*$)`), (m) => context("auth_timeout", m)],
  // Unable to negotiate with IP port N: no matching ... found
  [new RegExp(`^Unable to negotiate with (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?:`), (m) => context("negotiation_failed", m)],
  // banner exchange / ssh_dispatch_run_fatal: Connection from IP port N: ...
  [new RegExp(`^(?:banner exchange|ssh_dispatch_run_fatal|kex_exchange_identification): Connection from (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?:(?<why>.*)$`), (m) =>
    m.input.startsWith("banner exchange") && /invalid format/.test(m.groups!.why!) ? fail("protocol_error", m, undefined, "info") : context("protocol_error", m)],
  [new RegExp(`^Magic value check failed \\(\\d+\\) on obfuscated handshake from (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?$`), (m) => fail("protocol_error", m, undefined, "info")],
  // Read error from remote host IP: Connection reset by peer   (after login too: not a failure)
  [new RegExp(`^Read error from remote host (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?:`), (m) =>
    authEvent(DS, "connection_reset", undefined, undefined, peer(m.groups!.ip, m.groups!.port), "end")],
  // PAM service(sshd) ignoring max retries; 6 > 3
  [/^PAM service\(\S+\) ignoring max retries/, () => authEvent(DS, "pam_max_retries", undefined, undefined, undefined, "info")],
  // Address-less protocol failures before authentication.
  [/^(?:kex_exchange_identification: |Read from socket failed: |Write failed: .*\[preauth\]|Unable to negotiate a |no matching \S+ found|Corrupted MAC on input|Bad packet length|Connection corrupted)/, (m) => context("protocol_error", m)],
  // input_userauth_request: invalid user bob [preauth]
  [/^input_userauth_request: invalid user (?<user>\S*)/, (m) => context("invalid_user", m, m.groups!.user)],
  // pam_unix(sshd:auth): check pass; user unknown
  [/^pam_unix\(sshd:auth\): check pass; user unknown/, (m) => context("invalid_user", m)],
  // pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)
  [/^pam_unix\(sshd:session\): session (?<what>opened|closed) for user (?<user>[^\s(]+)/, (m) => {
    const opened = m.groups!.what === "opened";
    const f = authEvent(DS, opened ? "session_opened" : "session_closed", opened ? "success" : undefined, m.groups!.user, undefined, opened ? "start" : "end");
    f.event.category = ["session"];
    return f;
  }],
  [new RegExp(`^Close session: user (?<user>\\S+) from (?<ip>[0-9A-Za-z_.:%-]+) port (?<port>\\d+)`), (m) => {
    const f = authEvent(DS, "session_closed", undefined, m.groups!.user, peer(m.groups!.ip, m.groups!.port), "end");
    f.event.category = ["session"];
    return f;
  }],
  // Postponed keyboard-interactive for [invalid user ]bob from IP port N ssh2 [preauth]
  [new RegExp(`^Postponed \\S+ for (?<inv>invalid user )?(?<user>\\S+) from (?<ip>[0-9A-Za-z_.:%-]+) port (?<port>\\d+)`), (m) =>
    m.groups!.inv ? fail("invalid_user", m, m.groups!.user) : authEvent(DS, "auth_postponed", undefined, m.groups!.user, peer(m.groups!.ip, m.groups!.port), "info")],
  // Address IP maps to host, but this does not map back ... / reverse mapping checking getaddrinfo for h [IP] failed
  [new RegExp(`^Address (?<ip>[0-9A-Za-z_.:%-]+) maps to \\S+, but this does not map back`), (m) => authEvent(DS, "reverse_mapping_failed", undefined, undefined, peer(m.groups!.ip), "info")],
  [/^reverse mapping checking getaddrinfo for \S+ \[(?<ip>[^\]]+)\] failed/, (m) => authEvent(DS, "reverse_mapping_failed", undefined, undefined, peer(m.groups!.ip), "info")],
  // Connection from IP port N [on IP port N]
  [new RegExp(`^Connection from (?<ip>[0-9A-Za-z_.:%-]+?)(?: port (?<port>\\d+))?(?: on (?<lip>[0-9A-Za-z_.:%-]+) port (?<lport>\\d+))?(?: rdomain .*)?$`), (m) => {
    const f = authEvent(DS, "connection", undefined, undefined, peer(m.groups!.ip, m.groups!.port), "start");
    f.event.category = ["network"];
    const d = peer(m.groups!.lip, m.groups!.lport);
    if (d) f.destination = d;
    return addRelated(f);
  }],
  // Server listening on 0.0.0.0 port 22. / Received signal 15; terminating.
  [/^(?:Server listening on|Received signal \d+|Received SIGHUP)/, () => ({ event: { dataset: DS, category: ["process"], type: ["info"], action: "daemon" } })],
];

function pamFailure(kv: string): ProgramFields {
  const k = pamAuthKv(kv);
  return authEvent(DS, "pam_auth_failure", "failure", k.user ?? k.ruser, peer(k.rhost));
}

/** Strips wrappers that do not change the meaning: "error: ", "fatal: ", Solaris "[ID n auth.info] ", kernel stamps. */
function unwrap(msg: string): string {
  let s = msg;
  for (let k = 0; k < 4; k++) {
    const t = s.startsWith("error: ") ? s.slice(7)
      : s.startsWith("fatal: ") ? s.slice(7)
      : s.startsWith("[ID ") ? s.replace(/^\[ID \d+ [\w.]+\] /, "")
      : s.startsWith("kernel:") ? s.replace(/^kernel: ?\[\s*[\d.]+\]:? ?/, "")
      : s;
    if (t === s) break;
    s = t;
  }
  return s.trimEnd();
}

/**
 * The literal text each rule's regex must start with (after `^`, up to the first metacharacter, minus a
 * last character made optional by a following quantifier). Testing `startsWith` first skips most regexes
 * while keeping the rules' order, which decides between overlapping patterns.
 */
const LITERAL_PREFIX: string[] = RULES.map(([re]) => {
  const src = re.source;
  if (!src.startsWith("^")) return "";
  let i = 1, out = "";
  while (i < src.length && !"\\()[]{}*+?.|^$".includes(src[i]!)) out += src[i++];
  if ("?*{".includes(src[i] ?? "")) out = out.slice(0, -1);
  return out;
});

export function parseSshd(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const s = unwrap(msg);
  for (let i = 0; i < RULES.length; i++) {
    if (!s.startsWith(LITERAL_PREFIX[i]!)) continue;
    const m = RULES[i]![0].exec(s);
    if (m) return RULES[i]![1](m);
  }
  return parsePam(s, DS);
}

/** Cheap test used when the program name is missing: does this look like an sshd message we parse? */
export const SSHD_SNIFF = /^(?:Accepted \S+ for |Failed \S+ for |Invalid user |pam_unix\(sshd:|Disconnected from |Connection closed by |Received disconnect from |Did not receive identification|Unable to negotiate with |User \S+ from \S+ not allowed)/;
