/**
 * `porchlight sources list|show|set|delete`: per-source settings, today the IANA time zone of RFC
 * 3164 timestamps (which carry none). Keys are `host:<hostname>` or `ip:<sender address>`.
 */
import { seg } from "../client.js";
import { clientOf, examples, formatOptions } from "../context.js";
import { writeJson } from "../files.js";
import { formatList, out, pickFormat } from "../output.js";

/** @param {import("commander").Command} program */
export function registerSources(program) {
  const sources = program.command("sources").description("Per-source settings: the time zone of timestamps that carry none");

  const list = formatOptions(sources.command("list").description("List sources with settings")).action(async (opts) => {
    const { sources: rows } = await clientOf(list).get("/v1/sources");
    await out(formatList(rows, [
      { header: "KEY", path: "key" }, { header: "TIMEZONE", path: "timezone" },
      { header: "UPDATED", path: "updated_at", get: (s) => (s.updated_at ? new Date(s.updated_at).toISOString() : "") },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight sources list"]);

  const show = sources.command("show <key>").description("Show one source's settings").action(async (key) => {
    await writeJson(await clientOf(show).get(`/v1/sources/${seg(key)}`), undefined);
  });
  examples(show, ["porchlight sources show host:nas"]);

  const set = sources
    .command("set <key>")
    .description("Set a source's time zone (admin)")
    .requiredOption("--timezone <zone>", "an IANA zone such as Europe/Berlin")
    .action(async (key, opts) => {
      const r = await clientOf(set).json("PUT", `/v1/sources/${seg(key)}`, { body: { timezone: opts.timezone } });
      await out(`${r.key}: ${r.timezone}\n`);
    });
  examples(set, ["porchlight sources set host:router --timezone Europe/Berlin", "porchlight sources set ip:192.168.1.1 --timezone America/New_York"]);

  const del = sources.command("delete <key>").description("Forget a source's settings (back to UTC; admin)").action(async (key) => {
    await clientOf(del).json("DELETE", `/v1/sources/${seg(key)}`);
    await out(`${key} deleted\n`);
  });
  examples(del, ["porchlight sources delete host:router"]);
}
