/**
 * Backup completions and failures, for the "backup heartbeat" rule (no success in N hours = alert):
 * rsnapshot (`/usr/bin/rsnapshot daily: completed successfully`, `... completed, but with some
 * warnings`, `ERROR: ...`, `rsnapshot encountered an error!`), Synology Hyper Backup (`Backup task
 * [NAS] completed.` / `failed`), and generic "backup ... completed|finished|succeeded|failed" lines
 * from any program (restic, borg, duplicati wrappers).
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";

function backup(outcome: "success" | "failure", task: string | undefined, tool: string, note?: string): ProgramFields {
  const f: ProgramFields = { event: { dataset: "backup", category: ["process"], type: ["end"], action: outcome === "success" ? "backup_completed" : "backup_failed", outcome } };
  const fields: Record<string, string> = { backup_tool: tool };
  if (task) fields.backup_task = task;
  if (note) fields.backup_note = note;
  f.porchlight = { fields };
  return f;
}

export function parseBackup(msg: string, syslog?: SyslogMessage): ProgramFields | null {
  const s = msg.trim();
  const prog = syslog?.appName?.toLowerCase();
  let m = /^(\S*rsnapshot) (\S+): completed(?: successfully|(, but with some warnings))/.exec(s);
  if (m) return backup("success", m[2], "rsnapshot", m[3] ? "warnings" : undefined);
  if (prog === "rsnapshot") {
    if (/^ERROR:|encountered an error|^\S*rsnapshot \S+: ERROR/.test(s)) return backup("failure", /^\S*rsnapshot (\S+):/.exec(s)?.[1], "rsnapshot", s.slice(0, 200));
    return null;
  }
  m = /^Backup task \[([^\]]+)\] (?:is )?(completed|finished|succeeded|failed|partially completed|was cancelled|was canceled)/i.exec(s);
  if (m) return backup(/fail|cancel/i.test(m[2]!) ? "failure" : "success", m[1], "hyperbackup");
  // Generic: the word backup, then a verdict.
  m = /\bbackup\b(.{0,120}?)\b(completed|finished|succeeded|successful|done|failed|failure|error|aborted)\b/i.exec(s);
  if (m) {
    if (/\b(?:start|starting|started|running)\b/i.test(m[1]!) && !/fail|error|abort/i.test(m[2]!)) return null;
    return backup(/fail|error|abort/i.test(m[2]!) ? "failure" : "success", undefined, prog ?? "unknown");
  }
  return null;
}
