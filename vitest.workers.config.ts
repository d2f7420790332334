/**
 * Integration tests inside workerd: real D1 with the real migrations, real Durable Objects and alarms.
 * Migrations are read once here and applied by test/workers/setup.ts (the workers-sdk fixture pattern).
 */
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig(async () => {
  const migrations = await readD1Migrations(new URL("./migrations", import.meta.url).pathname);
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            TEST_MIGRATIONS: migrations,
            ADMIN_TOKEN: "test-admin-token-0123456789",
            // Notifications (test/workers/notify.test.ts): a fixed test key; real deployments use a Worker secret.
            NOTIFY_KEY: "dGVzdC1ub3RpZnkta2V5LTAxMjM0NTY3ODlhYmNkZWY",
            PUBLIC_URL: "https://porchlight.test",
          },
        },
      }),
    ],
    test: {
      include: ["test/workers/**/*.test.ts"],
      setupFiles: ["./test/workers/setup.ts"],
      // Loopback receivers (ntfy, Telegram, webhooks) on a free 127.0.0.1 port, for the notification tests.
      globalSetup: ["./test/workers/notify-receiver.ts"],
      testTimeout: 30_000,
    },
  };
});
