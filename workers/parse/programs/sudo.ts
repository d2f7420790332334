/**
 * sudo: command lines (`alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls`), failed
 * password attempts (`N incorrect password attempt(s) ; ...`), `user NOT in sudoers`, and its PAM lines.
 * user.name is who ran sudo, user.effective.name whom they ran as, process.command_line the command.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { addRelated } from "./common.ts";
import { parsePam } from "./pam.ts";
import { record } from "../../table.ts";

export function parseSudo(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  const s = msg.trim();
  const colon = s.indexOf(" : ");
  if (colon > 0 && /^\S+$/.test(s.slice(0, colon))) {
    const user = s.slice(0, colon);
    const parts = s.slice(colon + 3).split(" ; ");
    const kv = record<string>();
    const notes: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const eq = p.indexOf("=");
      if (eq > 0 && /^[A-Z]+$/.test(p.slice(0, eq))) {
        // COMMAND is last and may itself contain " ; ".
        if (p.slice(0, eq) === "COMMAND") { kv.COMMAND = [p.slice(eq + 1), ...parts.slice(i + 1)].join(" ; "); break; }
        kv[p.slice(0, eq)] = p.slice(eq + 1);
      } else notes.push(p);
    }
    const note = notes.join(" ; ");
    let action = "sudo_command", outcome: "success" | "failure" = "success", category = ["process"];
    if (/incorrect password attempt/.test(note)) { action = "sudo_auth_failure"; outcome = "failure"; category = ["authentication", "process"]; }
    else if (/NOT in sudoers|not allowed to (?:execute|run)|NOT allowed/i.test(note)) { action = "sudo_not_allowed"; outcome = "failure"; category = ["process", "iam"]; }
    else if (note && !kv.COMMAND) { action = "sudo_error"; outcome = "failure"; }
    const f: ProgramFields = { event: { dataset: "sudo", category, type: ["start"], action, outcome } };
    f.user = { name: user };
    if (kv.USER) f.user.effective = { name: kv.USER };
    if (kv.COMMAND || kv.PWD) {
      f.process = {};
      if (kv.COMMAND) f.process.command_line = kv.COMMAND;
      if (kv.PWD) f.process.working_directory = kv.PWD;
    }
    const extra: Record<string, string> = {};
    if (kv.TTY) extra.tty = kv.TTY;
    if (note) extra.sudo_message = note;
    if (Object.keys(extra).length) f.porchlight = { fields: extra };
    addRelated(f);
    if (kv.USER && kv.USER !== user) (f.related ??= {}).user = [user, kv.USER];
    return f;
  }
  return parsePam(s, "sudo", true);
}
