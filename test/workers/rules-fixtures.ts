/**
 * Fixtures of the rules/alerts workerd tests: events built by the real normalize() from syslog
 * lines, rules created through the API, alerts read back from D1.
 *
 * `ev()` overlays the ECS fields a test's rule reads (and @timestamp, to place events exactly on
 * window edges) on normalize()'s output: these files test the rules stage, not the parsers (the
 * end-to-end test through POST /v1/ingest runs the parsers as they are).
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import type { EcsEvent } from "../../workers/ecs.ts";
import { DEFAULT_CONTEXT, normalize } from "../../workers/parse/index.ts";
import { eventId } from "../../workers/parse/id.ts";
import type { AlertJson, AlertRow } from "../../workers/store/alerts.ts";
import { toAlertJson } from "../../workers/store/alerts.ts";
import type { ApplyResult, InspectResult, RuleState } from "../../durable-objects/rule-state.ts";
import type { Heartbeat, HeartbeatInspect } from "../../durable-objects/heartbeat.ts";
import type { MatchedEvent, RuleDef } from "../../workers/rules/types.ts";
import { api } from "./api-client.ts";

let counter = 0;
/** A name unique within the test run (rules, batches and heartbeats share one D1 per file). */
export const uid = (prefix: string): string => `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}`;

export const T0 = Date.parse("2026-11-22T10:00:00.000Z");

/**
 * Overlays `from` on `into`. A nested object of the event is copied before it is changed: parsers
 * share frozen objects between events (observers, category lists), which must never be edited.
 */
function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object" && !Array.isArray(cur)) into[k] = deepMerge({ ...(cur as Record<string, unknown>) }, v as Record<string, unknown>);
    else into[k] = v;
  }
  return into;
}

/** One event from a syslog line at event time `ts` (ms), with `fields` overlaid. Deterministic id per (batch, index). */
export function ev(line: string, ts: number, fields: Record<string, unknown> = {}, id?: { batch: string; index: number }): EcsEvent {
  const e = normalize({ raw: line, receivedAt: ts }, DEFAULT_CONTEXT) as unknown as Record<string, unknown>;
  deepMerge(e, fields);
  e["@timestamp"] = ts;
  if (id) e.id = eventId(ts, id.batch, id.index);
  return e as unknown as EcsEvent;
}

function sshLogin(outcome: "failure" | "success", ip: string, ts: number, user: string, host: string): EcsEvent {
  const verb = outcome === "failure" ? "Failed" : "Accepted";
  return ev(`<38>Nov 22 10:00:00 ${host} sshd[811]: ${verb} password for ${user} from ${ip} port 52144 ssh2`, ts, {
    host: { hostname: host },
    source: { ip },
    user: { name: user },
    process: { name: "sshd" },
    event: { category: ["authentication"], outcome, action: "ssh_login" },
  });
}

/** A failed SSH password from `ip` at `ts`. */
export const sshFail = (ip: string, ts: number, user = "root", host = "nas"): EcsEvent => sshLogin("failure", ip, ts, user, host);
/** An accepted SSH login from `ip` at `ts`. */
export const sshOk = (ip: string, ts: number, user = "admin", host = "nas"): EcsEvent => sshLogin("success", ip, ts, user, host);

export const SSH_FAIL_MATCH = { "event.category": "authentication", "event.outcome": "failure" };

/** Creates a rule through the API (admin) and returns it as stored. */
export async function createRule(def: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await api("/v1/rules", { method: "POST", json: def });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body as Record<string, unknown>;
}

/** Alerts of a rule, straight from D1 (no lazy sweep), oldest first. */
export async function alertsOf(ruleId: string): Promise<AlertJson[]> {
  const { results } = await env.DB.prepare("SELECT * FROM alerts WHERE rule_id = ?1 ORDER BY first_seen, id").bind(ruleId).all<AlertRow>();
  return results.map((r) => toAlertJson(r));
}

export function ruleStub(name: string): DurableObjectStub<RuleState> {
  return env.RULE_STATE.get(env.RULE_STATE.idFromName(name));
}

/** Sets the object's wall clock (ms) for the following calls, until it is evicted. */
/** An object with a replaceable clock (RuleState, Heartbeat). */
type Clocked = DurableObjectStub<RuleState> | DurableObjectStub<Heartbeat>;

export async function setClock(stub: Clocked, ms: number): Promise<void> {
  await runInDurableObject(stub as DurableObjectStub<RuleState>, (instance: { clock: () => number }) => {
    instance.clock = () => ms;
  });
}

/** Runs the object's alarm now, with its clock at `ms`. Returns whether an alarm was scheduled. */
export async function runAlarmAt(stub: Clocked, ms: number): Promise<boolean> {
  await setClock(stub, ms);
  return runDurableObjectAlarm(stub);
}

/**
 * Typed calls to a RuleState object (its results hold `unknown` engine state, which the RPC types
 * cannot express, so they are cast back to the class's declared types here).
 */
export function ruleObject(name: string) {
  const stub = ruleStub(name);
  return {
    stub,
    apply: async (batchKey: string, rule: RuleDef, version: number, events: MatchedEvent[]) => (await stub.apply(batchKey, rule, version, events)) as unknown as ApplyResult,
    inspect: async () => (await stub.inspect()) as unknown as InspectResult,
    reset: async () => {
      await stub.reset();
    },
  };
}

/** The Heartbeat object of a pinged heartbeat name, with typed inspect. */
export function heartbeatObject(name: string) {
  const stub = env.HEARTBEAT.get(env.HEARTBEAT.idFromName(name));
  return { stub, inspect: async () => (await stub.inspect()) as unknown as HeartbeatInspect };
}
