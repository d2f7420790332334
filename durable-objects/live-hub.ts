/** Fans live alert updates out to web view WebSockets (hibernation API). To be built (web view issue). */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../workers/env.ts";

export class LiveHub extends DurableObject<Env> {}
