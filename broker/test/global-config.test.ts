import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/config.ts";
import { parseGlobalConfig } from "../src/global/config.ts";

describe("regio global configuration", () => {
  it("reads regions in the order given, flags over REGIO_GLOBAL_* variables, and defaults", () => {
    const config = parseGlobalConfig(
      [
        "--region",
        "eastus=http://127.0.0.1:7400, http://127.0.0.1:7401/",
        "--region=westeurope=http://10.0.0.1:7410",
        "--port=8080",
        "--down-after=3",
      ],
      { REGIO_GLOBAL_PORT: "1", REGIO_GLOBAL_PROBE_INTERVAL: "250" },
    );
    expect(config).toEqual({
      host: "127.0.0.1",
      port: 8080,
      regions: [
        { name: "eastus", nodes: ["http://127.0.0.1:7400", "http://127.0.0.1:7401"] },
        { name: "westeurope", nodes: ["http://10.0.0.1:7410"] },
      ],
      probeIntervalMs: 250,
      probeTimeoutMs: 1000,
      downAfter: 3,
      upAfter: 2,
      proxyTimeoutMs: 50_000,
    });
    const fromEnv = parseGlobalConfig([], { REGIO_GLOBAL_REGIONS: "a=http://h:1,http://h:2;b=http://h:3" });
    expect(fromEnv.regions.map((r) => `${r.name}:${r.nodes.length}`)).toEqual(["a:2", "b:1"]);
  });

  it("says what is wrong with a bad configuration", () => {
    const error = (argv: string[]) => {
      try {
        parseGlobalConfig(argv, {});
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(error([])).toMatch(/at least one --region/);
    expect(error(["--region", "eastus"])).toMatch(/must look like NAME=URL/);
    expect(error(["--region", "eastus="])).toMatch(/names no node URL/);
    expect(error(["--region", "eastus=127.0.0.1:7400"])).toBe("node URL '127.0.0.1:7400' is not a URL");
    expect(error(["--region", "eastus=https://h:443"])).toMatch(/must start with http:\/\//);
    expect(error(["--region", "a=http://h:1", "--region", "a=http://h:2"])).toBe("region 'a' is given twice");
    expect(error(["--region", "a=http://h:1", "--down-after", "0"])).toBe("--down-after must be at least 1");
  });
});
