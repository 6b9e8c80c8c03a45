import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

// Every @regio/* package resolves to its TypeScript sources here, never to a stale dist/
// (docs/adr/0008); the rest as vitest's own defaults for Node (Vite's, without "module").
const conditions = [
  "@regio/source",
  ...defaultServerConditions.filter((condition) => condition !== "module"),
];

export default defineConfig({
  ssr: { resolve: { conditions } },
  // The global setup (Kafka) is loaded in vitest's own environment: the same conditions there, or
  // it needs a built tools/kafka/dist (a fresh worktree has none).
  environments: { __vitest__: { resolve: { conditions } } },
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
