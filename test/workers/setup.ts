import { applyD1Migrations, env } from "cloudflare:test";

// Runs before each test file; applying is idempotent (the d1_migrations table records what ran).
await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
