import { describe, expect, it } from "vitest";
import { TRANSPORTS } from "../support/regio-harness.ts";
import { plainSocketIo, regio, type Deployment } from "./deployments.ts";
import { scenarios, type Scenario } from "./scenarios.ts";

/** Runs one scenario on one deployment and returns its transcript. */
async function play(deployment: Deployment, scenario: Scenario): Promise<string[]> {
  const transcript: string[] = [];
  const log = (entry: string) => transcript.push(entry);
  const running = await deployment.start((io) => scenario.setup(io, log), scenario.serverOptions);
  try {
    await scenario.run({ io: running.io, client: running.client, log });
  } finally {
    await running.stop();
  }
  return transcript;
}

describe.each(Object.entries(TRANSPORTS))(
  "the same app on plain socket.io and on Regio, over %s",
  (_name, transport) => {
    it.each(scenarios.map((s) => [s.name, s] as const))("%s", async (_title, scenario) => {
      const expected = await play(plainSocketIo(transport), scenario);
      const actual = await play(regio(transport), scenario);
      expect(expected.length).toBeGreaterThan(0);
      expect(actual).toEqual(expected);
    });
  },
);
