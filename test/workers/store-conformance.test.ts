/** The Store conformance suite (test/unit/store-conformance.suite.ts) against real D1 in workerd, migrated by setup.ts. */
import { env } from "cloudflare:test";
import { d1Store } from "../../workers/store/d1.ts";
import { storeConformance } from "../unit/store-conformance.suite.ts";

storeConformance("D1", () => d1Store(env.DB));
