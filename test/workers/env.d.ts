import type { D1Migration } from "cloudflare:test";
import type { Env as PorchlightEnv } from "../../workers/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends PorchlightEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
