import { describe } from "vitest";
import { InProcessBus } from "../../broker/src/replication/in-process.ts";
import { replicatorContract } from "./contract.ts";

describe("Replicator contract: in-process bus", () => {
  replicatorContract(() => {
    const bus = new InProcessBus();
    return { create: (nodeId) => bus.connect(nodeId) };
  }, ["local"]);
});
