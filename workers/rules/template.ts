/**
 * Alert text templates: "Brute force from {{source.ip}}" with variables from a firing (count,
 * window, the last event's projected fields, regex captures). Pure string work, no eval.
 *
 * Invariants: a missing or null variable renders as "" (an alert title never shows "undefined");
 * arrays render comma-separated; objects render as JSON. Unknown syntax is left as written.
 */
import { getField } from "../ecs.ts";

const VAR = /\{\{\s*([A-Za-z0-9_@.\-]+)\s*\}\}/g;

/** Names of the variables a template uses (for projection: the fields an event must carry). */
export function templateVars(template: string | undefined): string[] {
  if (!template) return [];
  const out: string[] = [];
  for (const m of template.matchAll(VAR)) if (!out.includes(m[1]!)) out.push(m[1]!);
  return out;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return v.map(show).join(",");
  return JSON.stringify(v);
}

/** Renders a template. Variables are looked up by their dotted name first (flat), then as a path. */
export function renderTemplate(template: string, vars: Record<string, unknown>): string {
  return template.replace(VAR, (_all, name: string) => show(Object.hasOwn(vars, name) ? vars[name] : getField(vars, name)));
}
