/** Per-(rule, shard) correlation state: windows, buckets, sequences, heartbeats, seen values. To be built (rules issue). */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";

export class RuleState extends DurableObject<Env> {}
