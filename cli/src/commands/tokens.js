/** `porchlight tokens list|create|revoke` (admin scope): API tokens; a new token is shown once. */
import { seg } from "../client.js";
import { clientOf, collect, examples, formatOptions } from "../context.js";
import { formatList, note, out, pickFormat } from "../output.js";

/** @param {import("commander").Command} program */
export function registerTokens(program) {
  const tokens = program.command("tokens").description("Create, list and revoke API tokens (admin)");

  const list = formatOptions(tokens.command("list").description("List tokens (never their secrets)")).action(async (opts) => {
    const { tokens: rows } = await clientOf(list).get("/v1/tokens");
    const iso = (/** @type {number | null} */ ms) => (ms ? new Date(ms).toISOString() : "");
    await out(formatList(rows, [
      { header: "ID", path: "id" }, { header: "NAME", path: "name" }, { header: "SCOPES", path: "scopes" },
      { header: "CREATED", path: "created_at", get: (t) => iso(t.created_at) }, { header: "LAST USED", path: "last_used_at", get: (t) => iso(t.last_used_at) },
    ], pickFormat(opts)));
  });
  examples(list, ["porchlight tokens list"]);

  const create = tokens
    .command("create <name>")
    .description("Create a token and print it (shown this once; only its hash is kept)")
    .option("--scope <scope>", "ingest, read or admin (repeatable; default read)", collect)
    .option("--json", "print the whole answer as JSON")
    .action(async (name, opts) => {
      const t = await clientOf(create).json("POST", "/v1/tokens", { body: { name, scopes: opts.scope ?? ["read"] } });
      if (opts.json) return out(JSON.stringify(t) + "\n");
      await out(t.token + "\n");
      note(`token ${t.id} '${t.name}' (${t.scopes.join(", ")}): store it now, it is not shown again`);
    });
  examples(create, ["porchlight tokens create 'nas relay' --scope ingest", "porchlight tokens create phone --scope read"]);

  const revoke = tokens.command("revoke <id>").description("Revoke a token: it fails from its next request on").action(async (id) => {
    await clientOf(revoke).json("DELETE", `/v1/tokens/${seg(id)}`);
    await out(`${id} revoked\n`);
  });
  examples(revoke, ["porchlight tokens revoke k3j5h2g8d9a1"]);
}
