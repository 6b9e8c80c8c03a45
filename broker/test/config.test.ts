import { describe, expect, it } from "vitest";
import { ConfigError, envName, parseBrokerConfig } from "../src/config.ts";

/** Access keys have 32 bytes or more. */
const KEY = "k".repeat(32);
const NEW_KEY = `new-${"n".repeat(32)}`;
const OLD_KEY = `old-${"o".repeat(32)}`;

describe("regio broker configuration", () => {
  it("reads flags, falls back to REGIO_* variables, and lets a flag win", () => {
    const config = parseBrokerConfig(
      ["--port", "7500", "--region", "eastus", "--peer", "westeurope=10.0.0.1:9093"],
      {
        REGIO_ACCESS_KEY: KEY,
        REGIO_PORT: "1",
        REGIO_KAFKA: "127.0.0.1:19092,127.0.0.1:19093",
        REGIO_KAFKA_SSL: "true",
        REGIO_KAFKA_SASL_USERNAME: "$ConnectionString",
        REGIO_KAFKA_SASL_PASSWORD: "secret",
        REGIO_PEER_WESTEUROPE_SASL_USERNAME: "u",
        REGIO_PEER_WESTEUROPE_SASL_PASSWORD: "p",
      },
    );
    expect(config.port).toBe(7500);
    expect(config.accessKey).toBe(KEY);
    expect(config.kafka).toEqual({
      brokers: ["127.0.0.1:19092", "127.0.0.1:19093"],
      ssl: true,
      sasl: { mechanism: "plain", username: "$ConnectionString", password: "secret" },
    });
    expect(config.peers.get("westeurope")).toEqual({
      brokers: ["10.0.0.1:9093"],
      ssl: false,
      sasl: { mechanism: "plain", username: "u", password: "p" },
    });
  });

  it("reads several peers from REGIO_PEERS and names their variables by region", () => {
    const config = parseBrokerConfig([], {
      REGIO_ACCESS_KEY: KEY,
      REGIO_KAFKA: "h0:1",
      REGIO_PEERS: "a=h1:1;south-east=h2:2,h3:3",
    });
    expect([...config.peers.keys()]).toEqual(["a", "south-east"]);
    expect(config.peers.get("south-east")!.brokers).toEqual(["h2:2", "h3:3"]);
    expect(envName("south-east")).toBe("SOUTH_EAST");
  });

  it("reads a list of access keys (the first signs, any verifies) and the replication limits", () => {
    const config = parseBrokerConfig(["--max-batch-bytes=500000"], {
      REGIO_ACCESS_KEY: ` ${NEW_KEY}, ${OLD_KEY} ,`,
      REGIO_MAX_RECORD_BYTES: "800000",
      REGIO_NODE_URL_PATTERN: "https://*.regio.example.com, http://10.0.*:7400",
    });
    expect(config.accessKeys).toEqual([NEW_KEY, OLD_KEY]);
    expect(config.accessKey).toBe(NEW_KEY);
    expect(config.maxBatchBytes).toBe(500_000);
    expect(config.maxRecordBytes).toBe(800_000);
    expect(config.nodeUrlPatterns).toEqual(["https://*.regio.example.com", "http://10.0.*:7400"]);

    const defaults = parseBrokerConfig([], { REGIO_ACCESS_KEY: KEY });
    expect(defaults.accessKeys).toEqual([KEY]);
    expect(defaults.maxBatchBytes).toBe(900_000);
    expect(defaults.maxRecordBytes).toBe(1_000_000);
    expect(defaults.nodeUrlPatterns).toBeUndefined();
  });

  it("says what is wrong with a bad configuration", () => {
    const error = (argv: string[], env: NodeJS.ProcessEnv = { REGIO_ACCESS_KEY: KEY }) => {
      try {
        parseBrokerConfig(argv, env);
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(error([], {})).toMatch(/--access-key .* is required/);
    expect(error([], { REGIO_ACCESS_KEY: " , " })).toMatch(/--access-key .* is required/);
    expect(error(["--max-record-bytes=0"])).toBe("--max-record-bytes must be at least 1");
    expect(error(["--node-url-pattern="])).toBe("--node-url-pattern must name at least one pattern");
    expect(error(["--port", "seven"])).toBe("--port must be a whole number, got 'seven'");
    expect(error(["--kafka", "nohostport"])).toBe("Kafka broker 'nohostport' must look like HOST:PORT");
    expect(error(["--peer", "westeurope"])).toMatch(/must look like NAME=HOST:PORT/);
    expect(error(["--kafka", "h:1"], { REGIO_ACCESS_KEY: KEY, REGIO_KAFKA_SASL_USERNAME: "u" })).toMatch(
      /go together/,
    );
    expect(error(["--unknown-flag"])).toBe("Unknown option '--unknown-flag'");
    expect(error(["stray"])).toBe("Unexpected argument 'stray'");
    expect(error(["--port", "65536"])).toBe("--port must be a port, 0 to 65535, got '65536'");
    expect(error([], { REGIO_ACCESS_KEY: "short" })).toMatch(/^--access-key: the key has 5 bytes;/);
    expect(error(["--peer", "westeurope=h:1"])).toBe("--peer needs --kafka (this region's own Kafka)");
    expect(error(["--cors-credentials"])).toMatch(/^--cors-credentials needs --cors-origin/);
    expect(error([], { REGIO_ACCESS_KEY: KEY, REGIO_CORS_CREDENTIALS: "1" })).toMatch(
      /must be true or false/,
    );
  });

  it("reads CORS: origins, and credentials as a switch or its variable", () => {
    const none = parseBrokerConfig([], { REGIO_ACCESS_KEY: KEY });
    expect(none.corsOrigin).toBeUndefined();
    expect(none.corsCredentials).toBe(false);
    const flags = parseBrokerConfig(
      ["--cors-origin=https://a.example,https://b.example", "--cors-credentials"],
      {
        REGIO_ACCESS_KEY: KEY,
      },
    );
    expect(flags.corsOrigin).toEqual(["https://a.example", "https://b.example"]);
    expect(flags.corsCredentials).toBe(true);
    const env = parseBrokerConfig([], {
      REGIO_ACCESS_KEY: KEY,
      REGIO_CORS_ORIGIN: "https://a.example",
      REGIO_CORS_CREDENTIALS: "true",
    });
    expect(env.corsCredentials).toBe(true);
  });
});
