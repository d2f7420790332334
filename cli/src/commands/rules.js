/**
 * `porchlight rules list|show|enable|disable|edit|delete|import|export|backtest` (siemmanage's
 * --importrules/--exportrules, siemtrigger's dry run). `import` picks the importer by the file's
 * extension: .json is Porchlight's own rules (`POST /v1/rules/import`), or siemstress's, converted
 * here (cli/src/siemstress.js); .yaml/.yml CrowdSec scenarios
 * or Sigma rules (told apart by their keys) and .sec/.conf SEC rulesets go to
 * `POST /v1/rules/import/crowdsec|sigma|sec`, a server without that importer answers 404 and this says so.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join } from "node:path";
import { seg } from "../client.js";
import { clientOf, examples, formatOptions, intOption } from "../context.js";
import { ApiError, CliError, UsageError } from "../errors.js";
import { readJson, readText, writeJson } from "../files.js";
import { formatList, note, out, pickFormat, severityColor, pc } from "../output.js";
import { lastMs, parseTime } from "../time.js";
import { fromSiemstressRules } from "../siemstress.js";

/** @type {import("../output.js").Column[]} */
const RULE_COLUMNS = [
  { header: "ID", path: "id" },
  { header: "TYPE", path: "type" },
  { header: "ENABLED", path: "enabled", color: (s) => (s === "true" ? pc.green(s) : pc.dim(s)) },
  { header: "SEVERITY", path: "severity", color: (s) => severityColor(s) },
  { header: "VERSION", path: "version" },
  { header: "NAME", path: "name" },
];

const KINDS = ["json", "crowdsec", "sigma", "sec"];
const LABEL = /** @type {Record<string, string>} */ ({ crowdsec: "CrowdSec scenarios", sigma: "Sigma rules", sec: "SEC rulesets" });

/**
 * Which importer a rules file needs, from its extension (and, for YAML, its keys).
 * @param {string} file @param {string} text @returns {"json" | "crowdsec" | "sigma" | "sec"}
 */
export function importKind(file, text) {
  const ext = extname(file).toLowerCase();
  if (ext === ".json") return "json";
  if (ext === ".sec" || ext === ".conf" || ext === ".rules") return "sec";
  if (ext === ".yaml" || ext === ".yml") {
    if (/^detection:/m.test(text) && /^logsource:/m.test(text)) return "sigma";
    if (/^type:\s*(leaky|trigger|counter|conditional|bayesian)\b/m.test(text) || /^filter:/m.test(text)) return "crowdsec";
    throw new UsageError(`${file}: YAML that is neither a Sigma rule (logsource/detection) nor a CrowdSec scenario (type/filter); say which with --type`);
  }
  throw new UsageError(`${file}: cannot tell the rule format from '${ext || "no extension"}'; use .json, .yaml/.yml (CrowdSec, Sigma), .sec/.conf (SEC), or --type`);
}

/** A rule as the API stores it, less the fields the API keeps itself. @param {any} rule */
const editable = (rule) => {
  const { version: _v, created_at: _c, updated_at: _u, ...rest } = rule;
  return rest;
};

/** @param {import("commander").Command} program */
export function registerRules(program) {
  const rules = program.command("rules").description("List, change, import, export and backtest detection rules");

  const list = formatOptions(rules.command("list").description("List rules")).action(async (opts) => {
    const { rules: rows } = await clientOf(list).get("/v1/rules");
    await out(formatList(rows, RULE_COLUMNS, pickFormat(opts)));
  });
  examples(list, ["porchlight rules list", "porchlight rules list --format '{id} {enabled}'"]);

  const show = rules.command("show <id>").description("Show a rule (JSON)").action(async (id) => {
    await writeJson(await clientOf(show).get(`/v1/rules/${seg(id)}`), undefined);
  });
  examples(show, ["porchlight rules show ssh-brute-force"]);

  for (const enabled of [true, false]) {
    const cmd = rules.command(`${enabled ? "enable" : "disable"} <id>`).description(`${enabled ? "Enable" : "Disable"} a rule (admin)`).action(async (id) => {
      const r = await clientOf(cmd).json("PATCH", `/v1/rules/${seg(id)}`, { body: { enabled } });
      await out(`${r.id} ${r.enabled ? "enabled" : "disabled"} (version ${r.version})\n`);
    });
    examples(cmd, [`porchlight rules ${enabled ? "enable" : "disable"} ssh-brute-force`]);
  }

  const del = rules.command("delete <id>").description("Delete a rule (admin)").action(async (id) => {
    await clientOf(del).json("DELETE", `/v1/rules/${seg(id)}`);
    await out(`${id} deleted\n`);
  });
  examples(del, ["porchlight rules delete my-old-rule"]);

  const edit = rules
    .command("edit <id>")
    .description("Edit a rule in $VISUAL or $EDITOR and save it back (PUT; admin)")
    .action(async (id) => {
      const client = clientOf(edit);
      const rule = editable(await client.get(`/v1/rules/${seg(id)}`));
      const dir = mkdtempSync(join(tmpdir(), "porchlight-rule-"));
      const file = join(dir, `${id.replace(/[^\w.-]/g, "_")}.json`);
      const before = JSON.stringify(rule, null, 2) + "\n";
      writeFileSync(file, before);
      const editor = process.env.VISUAL || process.env.EDITOR || "vi";
      const r = spawnSync(`${editor} "${file}"`, { stdio: "inherit", shell: true });
      if (r.status !== 0) throw new CliError(`${editor} exited with ${r.status ?? r.signal}; nothing saved (your edit: ${file})`);
      const after = readFileSync(file, "utf8");
      if (after === before) {
        rmSync(dir, { recursive: true, force: true });
        note("no change");
        return;
      }
      let body;
      try {
        body = JSON.parse(after);
      } catch (e) {
        throw new UsageError(`the edited rule is not JSON (${/** @type {Error} */ (e).message}); nothing saved (your edit: ${file})`);
      }
      try {
        const saved = await client.json("PUT", `/v1/rules/${seg(id)}`, { body });
        rmSync(dir, { recursive: true, force: true });
        await out(`${saved.id} saved (version ${saved.version})\n`);
      } catch (e) {
        if (e instanceof CliError) e.message += ` (your edit is kept in ${file})`;
        throw e;
      }
    });
  examples(edit, ["porchlight rules edit ssh-brute-force   # EDITOR=nano to choose the editor"]);

  const imp = rules
    .command("import <file>")
    .description("Import rules: .json (Porchlight's own, all or nothing, or siemstress's), .yaml/.yml (CrowdSec or Sigma), .sec/.conf (SEC)")
    .option("--type <kind>", `the format when the extension does not say: ${KINDS.join(", ")}`)
    .action(async (file, opts) => {
      const text = readText(file);
      if (opts.type !== undefined && !KINDS.includes(opts.type)) throw new UsageError(`--type '${opts.type}': one of ${KINDS.join(", ")}`);
      const kind = opts.type ?? importKind(file, text);
      const client = clientOf(imp);
      let res;
      if (kind === "json") {
        const data = readJson(file);
        // siemmanage --exportrules files convert here; what cannot be converted is listed, not guessed.
        const siem = fromSiemstressRules(data);
        if (siem) {
          for (const s of siem.skipped) note(`porchlight: skipped siemstress rule ${s.name}: ${s.reason}`);
          if (!siem.rules.length) throw new CliError(`${file}: no siemstress rule could be converted`);
        }
        res = await client.json("POST", "/v1/rules/import", { body: siem ? siem.rules : data });
      } else {
        // SEC rules have no names: the file's name prefixes their ids (site.sec → site-1, site-2...).
        const path = `/v1/rules/import/${kind}${kind === "sec" ? `?prefix=${encodeURIComponent(basename(file, extname(file)))}` : ""}`;
        try {
          res = await client.json("POST", path, { text, contentType: kind === "sec" ? "text/plain; charset=utf-8" : "application/yaml" });
        } catch (e) {
          if (e instanceof ApiError && e.status === 404 && /No route/i.test(e.apiMessage)) {
            throw new CliError(`this server cannot import ${LABEL[kind]}: POST ${path} answered 404 (its version has no ${kind} importer; convert the rules to Porchlight JSON or upgrade the server)`, 3);
          }
          throw e;
        }
      }
      const ids = Array.isArray(res?.ids) ? res.ids : [];
      // Foreign files import rule by rule: what the server refused is listed, one line per reason.
      for (const r of Array.isArray(res?.refused) ? res.refused : []) note(`porchlight: refused ${r.rule}${r.field ? ` (${r.field})` : ""}: ${r.reason}`);
      await out(`imported ${res?.imported ?? ids.length} rules${ids.length ? `: ${ids.join(", ")}` : ""}\n`);
    });
  examples(imp, ["porchlight rules import my-rules.json", "porchlight rules import /etc/siemstress/example_rules.json   # siemmanage --importrules", "porchlight rules import ssh-bf.yaml", "porchlight rules import --type sec site.rules"]);

  const exp = rules
    .command("export [file]")
    .description("Export every rule as a JSON array (to FILE or stdout); `import` reads it back")
    .action(async (file) => {
      const rows = await clientOf(exp).get("/v1/rules/export");
      await writeJson(rows, file);
      if (file) note(`${rows.length} rules written to ${file}`);
    });
  examples(exp, ["porchlight rules export rules.json", "porchlight rules export | jq '.[].id'"]);

  const bt = rules
    .command("backtest [id]")
    .description("Replay stored events through a rule without raising alerts (a stored rule's id, or --file)")
    .option("--file <rule.json>", "a rule definition to try before saving it")
    .option("--last <duration>", "events of the last 24h (default), 7d...")
    .option("--from <time>", "start (RFC 3339 or YYYYmmddHHMMSS)")
    .option("--to <time>", "end (default now)")
    .option("--limit <n>", "most events to replay (1-50000)", intOption("--limit"))
    .option("--json", "the whole answer as JSON")
    .action(async (id, opts) => {
      if ((id === undefined) === (opts.file === undefined)) throw new UsageError("give a rule id or --file RULE.json (one of them)");
      if (opts.last !== undefined && opts.from !== undefined) throw new UsageError("--last cannot be combined with --from");
      /** @type {Record<string, unknown>} */
      const body = id !== undefined ? { rule_id: id } : { rule: readJson(opts.file) };
      const to = opts.to !== undefined ? parseTime(opts.to, "--to") : Date.now();
      if (opts.to !== undefined) body.to = to;
      if (opts.from !== undefined) body.from = parseTime(opts.from, "--from");
      if (opts.last !== undefined) {
        body.from = to - lastMs(opts.last);
        body.to = to;
      }
      if (opts.limit !== undefined) body.limit = opts.limit;
      const r = await clientOf(bt).json("POST", "/v1/rules/backtest", { body });
      if (opts.json) return writeJson(r, undefined);
      await out(`scanned ${r.scanned} events: ${r.matched} matched, ${r.suppressed} suppressed, ${r.firings} firings, ${r.alerts.length} alerts${r.truncated ? ` (stopped at the limit, scanned until ${r.scanned_until})` : ""}\n`);
      await out(formatList(r.alerts, [
        { header: "SEVERITY", path: "severity", color: (s) => severityColor(s) },
        { header: "STATUS", path: "status" },
        { header: "DUP", path: "duplicate_count" },
        { header: "FIRST SEEN", path: "first_seen" },
        { header: "RESOURCE", path: "resource" },
        { header: "TITLE", path: "title" },
      ], process.stdout.isTTY ? "table" : "ndjson"));
    });
  examples(bt, ["porchlight rules backtest ssh-brute-force --last 7d", "porchlight rules backtest --file draft.json --from 20261101000000 --to 20261108000000"]);
}
