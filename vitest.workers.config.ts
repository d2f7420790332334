/**
 * Integration tests inside workerd: real D1 with the real migrations, real Durable Objects and alarms.
 * Migrations are read once here and applied by test/workers/setup.ts (the workers-sdk fixture pattern).
 */
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { PUSH_TEST_HOST } from "./test/workers/notify-receiver.ts";

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
            // A throwaway VAPID pair for the Web Push test (npm start generates a real one into .dev.vars).
            VAPID_PUBLIC_KEY: "BCKckkuzVAtvY2k82GvW1qgaRJobUP5oli2kl2E_-hlV984PG1PQa-9WMSSdxrYGh8U6M_6hh7u53Kpv04ufjrE",
            VAPID_PRIVATE_KEY: "Bu0ZAK_Po4dtKTP-BSzipctXFlHygtCdQl28jkTYOV8",
            NOTIFY_EMAIL_FROM: "porchlight@example.com",
          },
          // Web Push endpoints must be https (RFC 8030); the push tests use https://push.porchlight.test/...,
          // which this outbound hook carries to the loopback receiver (plain HTTP, started by the globalSetup).
          // Every other outbound request passes through unchanged.
          outboundService: async (request: Request) => {
            const url = new URL(request.url);
            const receiver = process.env.PORCHLIGHT_TEST_RECEIVER;
            const target = url.hostname === PUSH_TEST_HOST && receiver ? receiver + url.pathname + url.search : request.url;
            const body = request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer();
            return fetch(target, { method: request.method, headers: request.headers, body, redirect: "manual" });
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
