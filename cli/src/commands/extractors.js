/**
 * `porchlight extractors list|import|export|delete` (siemmanage's --importhelpers/--exporthelpers):
 * named regexes whose named groups become `labels.<group>` on events. Import matches extractors by
 * name: an existing name is replaced (PUT), a new one created (POST).
 */
import { seg } from "../client.js";
import { clientOf, examples, formatOptions } from "../context.js";
import { CliError, UsageError } from "../errors.js";
import { readJson, writeJson } from "../files.js";
import { formatList, note, out, pickFormat } from "../output.js";
import { fromSiemstressHelpers } from "../siemstress.js";

/** The fields an extractor is made of (what export writes and import sends). @param {any} x */
const definition = (x) => ({ name: x.name, pattern: x.pattern, program: x.program ?? null, host: x.host ?? null, enabled: x.enabled !== false });

/** @param {import("commander").Command} program */
export function registerExtractors(program) {
  const ex = program.command("extractors").description("Manage extractors (siemstress helpers): regexes whose named groups label events");

  const list = formatOptions(ex.command("list").description("List extractors")).action(async (opts) => {
    const { extractors } = await clientOf(list).get("/v1/extractors");
    await out(formatList(extractors, [
      { header: "ID", path: "id" }, { header: "NAME", path: "name" }, { header: "ENABLED", path: "enabled" },
      { header: "PROGRAM", path: "program" }, { header: "HOST", path: "host" }, { header: "PATTERN", path: "pattern" },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight extractors list"]);

  const imp = ex
    .command("import <file>")
    .description("Create or replace (by name) the extractors of a JSON file: an array of {name, pattern, program?, host?, enabled?}, or siemstress's helpers file (admin)")
    .action(async (file) => {
      const data = readJson(file);
      const items = Array.isArray(data) ? data : Array.isArray(data?.extractors) ? data.extractors : data && typeof data === "object" ? fromSiemstressHelpers(data) : null;
      if (!items) throw new UsageError(`${file}: expected a JSON array of extractors (or {"extractors": [...]}, or a siemstress helpers file)`);
      const client = clientOf(imp);
      const existing = new Map((await client.get("/v1/extractors")).extractors.map((/** @type {any} */ x) => [x.name, x.id]));
      let created = 0, replaced = 0;
      for (const [i, x] of items.entries()) {
        if (!x || typeof x.name !== "string" || typeof x.pattern !== "string") throw new UsageError(`${file}: [${i}] needs a string name and pattern`);
        const id = existing.get(x.name);
        try {
          if (id) await client.json("PUT", `/v1/extractors/${seg(id)}`, { body: definition(x) });
          else existing.set(x.name, (await client.json("POST", "/v1/extractors", { body: definition(x) })).id);
        } catch (e) {
          if (e instanceof CliError) e.message = `[${i}] ${x.name}: ${e.message} (${created + replaced} before it were saved)`;
          throw e;
        }
        if (id) replaced++;
        else created++;
      }
      await out(`${created} extractors created, ${replaced} replaced\n`);
    });
  examples(imp, ["porchlight extractors import helpers.json", "porchlight extractors import /etc/siemstress/example_helpers.json   # siemmanage --importhelpers"]);

  const exp = ex
    .command("export [file]")
    .description("Export every extractor as a JSON array (to FILE or stdout); `import` reads it back")
    .action(async (file) => {
      const { extractors } = await clientOf(exp).get("/v1/extractors");
      await writeJson(extractors.map(definition), file);
      if (file) note(`${extractors.length} extractors written to ${file}`);
    });
  examples(exp, ["porchlight extractors export helpers.json"]);

  const del = ex.command("delete <id-or-name>").description("Delete an extractor (admin)").action(async (key) => {
    const client = clientOf(del);
    const found = (await client.get("/v1/extractors")).extractors.find((/** @type {any} */ x) => x.id === key || x.name === key);
    if (!found) throw new CliError(`no extractor '${key}'`, 3);
    await client.json("DELETE", `/v1/extractors/${seg(found.id)}`);
    await out(`${found.name} (${found.id}) deleted\n`);
  });
  examples(del, ["porchlight extractors delete vpn_user"]);
}
