import { describe, expect, it } from "vitest";
import { InProcessBus } from "../../broker/src/replication/in-process.ts";
import { replicatorContract } from "./contract.ts";

describe("Replicator contract: in-process bus", () => {
  replicatorContract(() => {
    const bus = new InProcessBus();
    return { create: (nodeId) => bus.connect(nodeId) };
  }, ["local"]);

  it("a lone node's bus (which keeps no records for later members) takes no second node", () => {
    const bus = new InProcessBus(true);
    bus.connect("a");
    expect(() => bus.connect("b")).toThrow(/lone node/);
  });
});
