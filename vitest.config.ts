import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Every @regio/* package resolves to its TypeScript sources here, never to a stale dist/
  // (docs/adr/0008); the rest as vitest's own defaults for Node (Vite's, without "module").
  ssr: {
    resolve: {
      conditions: ["@regio/source", ...defaultServerConditions.filter((condition) => condition !== "module")],
    },
  },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Brokers log JSON to stdout; tests keep quiet unless REGIO_LOG_LEVEL asks for more.
    env: { REGIO_LOG_LEVEL: process.env.REGIO_LOG_LEVEL ?? "silent" },
    // One real Kafka per region (eastus, westeurope), started once for the whole run: inject("kafka").
    globalSetup: ["test/support/kafka-global-setup.ts"],
  },
});
