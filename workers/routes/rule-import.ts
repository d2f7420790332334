/**
 * Routes of /v1/rules/import/{crowdsec,sec,sigma}: foreign rule files (the body is the file's text)
 * converted to Porchlight rules and stored. Unlike POST /v1/rules/import (our own JSON, all or nothing),
 * a foreign file is imported rule by rule: the answer lists what was imported and, per rule, what was
 * refused and why. A file where nothing converts answers 400 with the same list. Needs `admin`.
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../auth.ts";
import { requireScope } from "../auth.ts";
import { PorchlightError } from "../errors.ts";
import { decodeUtf8, readBodyBytes } from "../ingest/body.ts";
import { importCrowdsecScenarios } from "../rules/crowdsec-import.ts";
import { importSecRules } from "../rules/sec.ts";
import { importSigmaRules, type Refusal } from "../rules/sigma-import.ts";
import type { RuleDef } from "../rules/types.ts";
import { storeOf } from "../store/d1.ts";
import { resetRuleState } from "./rules.ts";

/** Largest rule file, bytes (a hub scenario file is a few KB; the whole Sigma Linux set is ~1 MB). */
export const RULE_FILE_MAX_BYTES = 1_048_576;
/** Most rules one file may bring (one D1 batch, as POST /v1/rules/import). */
const IMPORT_MAX_RULES = 500;

export interface ForeignImport {
  imported: number;
  ids: string[];
  rules: { id: string; name: string; type: string }[];
  refused: Refusal[];
}

async function fileText(c: Context<AppEnv>): Promise<string> {
  const bytes = await readBodyBytes(c.req.raw.body, "identity", c.req.header("content-length") ?? null, RULE_FILE_MAX_BYTES);
  const text = decodeUtf8(bytes);
  if (!text.trim()) throw new PorchlightError("validation_failed", "The body is empty: send the rule file's text", { field: "" });
  return text;
}

async function store(c: Context<AppEnv>, kind: string, rules: RuleDef[], refused: Refusal[]): Promise<Response> {
  // Within one file, a later rule with an id already taken is refused (not a silent overwrite).
  const seen = new Set<string>();
  const keep: RuleDef[] = [];
  for (const r of rules) {
    if (seen.has(r.id)) refused.push({ rule: r.name, field: "id", reason: `duplicate rule id "${r.id}" in the file` });
    else { seen.add(r.id); keep.push(r); }
  }
  if (keep.length > IMPORT_MAX_RULES) throw new PorchlightError("payload_too_large", `At most ${IMPORT_MAX_RULES} rules per import (this ${kind} file has ${keep.length})`);
  if (!keep.length) {
    const first = refused[0];
    throw new PorchlightError("validation_failed", first ? `No rule imported: ${first.rule}: ${first.field ? first.field + ": " : ""}${first.reason}${refused.length > 1 ? ` (and ${refused.length - 1} more)` : ""}` : `No ${kind} rule found in the file`, { field: first?.field ?? "", refused });
  }
  const now = Date.now();
  await storeOf(c.env).putRules(keep, now);
  await Promise.all(keep.map((r) => resetRuleState(c.env, r.id)));
  const body: ForeignImport = { imported: keep.length, ids: keep.map((r) => r.id), rules: keep.map((r) => ({ id: r.id, name: r.name, type: r.type })), refused };
  return c.json(body);
}

export function registerRuleImportRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/rules/import/crowdsec", requireScope("admin"), async (c) => {
    const r = importCrowdsecScenarios(await fileText(c));
    return store(c, "CrowdSec", r.rules, r.errors.map((e) => ({ rule: e.scenario, field: e.field, reason: e.message })));
  });

  app.post("/v1/rules/import/sec", requireScope("admin"), async (c) => {
    const prefix = (c.req.query("prefix") ?? "sec").replace(/[^A-Za-z0-9_.\-]+/g, "-").slice(0, 40) || "sec";
    const r = importSecRules(await fileText(c), prefix);
    return store(c, "SEC", r.rules, r.errors.map((e) => ({ rule: `line ${e.line}`, field: e.field, reason: e.message })));
  });

  app.post("/v1/rules/import/sigma", requireScope("admin"), async (c) => {
    const r = importSigmaRules(await fileText(c));
    return store(c, "Sigma", r.rules, r.refused);
  });
}
