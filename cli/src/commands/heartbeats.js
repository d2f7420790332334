/**
 * `porchlight heartbeat NAME` (the one-liner a cron job ends with: an alert is raised when no ping
 * comes within the timeout) and `porchlight heartbeats list|delete`.
 */
import { seg } from "../client.js";
import { clientOf, examples, formatOptions } from "../context.js";
import { formatList, out, pickFormat } from "../output.js";
import { ago } from "../time.js";

/** @param {import("commander").Command} program */
export function registerHeartbeats(program) {
  const beat = program
    .command("heartbeat <name>")
    .description("Ping a heartbeat: if the next ping does not come within the timeout, an alert is raised (ingest scope is enough)")
    .option("--timeout <duration>", "how long until the next ping is due (default: the previous timeout, 24h for a new name)")
    .option("--severity <severity>", "severity of the alert when it is late: informational, low, medium, high, critical")
    .option("-q, --quiet", "print nothing (errors still go to stderr and the exit code)")
    .action(async (name, opts) => {
      /** @type {Record<string, string>} */
      const body = {};
      if (opts.timeout !== undefined) body.timeout = opts.timeout;
      if (opts.severity !== undefined) body.severity = opts.severity;
      const r = await clientOf(beat).json("POST", `/v1/heartbeats/${seg(name)}`, { body });
      if (!opts.quiet) await out(`${r.name}: next ping due by ${r.deadline} (timeout ${r.timeout})${r.cleared ? "; the late alert is closed" : ""}\n`);
    });
  examples(beat, [
    "restic backup /data && porchlight heartbeat nas-backup --timeout 26h --quiet",
    "0 3 * * * /usr/local/bin/backup.sh && porchlight heartbeat nightly-backup -q   # crontab",
  ]);

  const hb = program.command("heartbeats").description("List and remove heartbeats");
  const list = formatOptions(hb.command("list").description("Heartbeats with their state and deadline")).action(async (opts) => {
    const { heartbeats } = await clientOf(list).get("/v1/heartbeats");
    const now = Date.now();
    await out(formatList(heartbeats, [
      { header: "NAME", path: "name" }, { header: "SOURCE", path: "source" }, { header: "STATE", path: "state" },
      { header: "TIMEOUT", path: "timeout" }, { header: "LAST BEAT", path: "last_beat", get: (h) => (process.stdout.isTTY ? ago(h.last_beat, now) : h.last_beat) },
      { header: "DEADLINE", path: "deadline" },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight heartbeats list"]);

  const del = hb.command("delete <name>").description("Stop watching a pinged heartbeat (admin)").action(async (name) => {
    await clientOf(del).json("DELETE", `/v1/heartbeats/${seg(name)}`);
    await out(`${name} deleted\n`);
  });
  examples(del, ["porchlight heartbeats delete old-backup"]);
}
