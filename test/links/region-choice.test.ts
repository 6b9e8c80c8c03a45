import { afterEach, describe, expect, it } from "vitest";
import type { BrokerHandle } from "@regio/broker";
import { nearestFirst, RegionalLinks } from "../../sdk/src/link/regional-links.ts";
import { startDelayProxy } from "../support/delay-proxy.ts";
import { once } from "../support/events.ts";
import { ACCESS_KEY, HUB, startTestBroker } from "../support/regio-harness.ts";

describe("nearestFirst", () => {
  it("orders by round trip, and regions within 5 ms of the nearest by the order given", () => {
    const measured = [
      { region: "a", rtt: 9 },
      { region: "b", rtt: 5 },
      { region: "c", rtt: 30 },
      { region: "d", rtt: 4 },
    ];
    // a is within 5 ms of d (the nearest) and listed first; b then is the nearest of b, c, d.
    expect(nearestFirst(measured)).toEqual(["a", "b", "d", "c"]);
    expect(
      nearestFirst([
        { region: "far", rtt: 20 },
        { region: "near", rtt: 2 },
      ]),
    ).toEqual(["near", "far"]);
    expect(nearestFirst([])).toEqual([]);
  });
});

describe("RegionalLinks: which region it links to", () => {
  const brokers: BrokerHandle[] = [];
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const broker of brokers.splice(0)) await broker.close();
  });

  async function linkedRegion(regions: Array<{ name: string; url: string }>): Promise<string | undefined> {
    const links = new RegionalLinks({
      hub: HUB,
      appServerId: "region-choice",
      regions: regions.map((r) => ({ name: r.name, endpoint: new URL(r.url), accessKey: ACCESS_KEY })),
    });
    closers.push(() => links.close());
    const up = once(links, "up");
    links.start();
    await up;
    return links.region;
  }

  it("links to the region listed first when both are equally near (both on this machine)", async () => {
    brokers.push(await startTestBroker(), await startTestBroker());
    const [one, two] = brokers.map((b) => b.url);
    expect(
      await linkedRegion([
        { name: "one", url: one! },
        { name: "two", url: two! },
      ]),
    ).toBe("one");
    expect(
      await linkedRegion([
        { name: "two", url: two! },
        { name: "one", url: one! },
      ]),
    ).toBe("two");
  });

  it("links to a region listed later when the first is clearly farther", async () => {
    brokers.push(await startTestBroker(), await startTestBroker());
    // About 40 ms more per round trip: far beyond the 5 ms within which the order given decides.
    const far = await startDelayProxy(brokers[0]!.url, 20);
    closers.push(() => far.close());
    expect(
      await linkedRegion([
        { name: "far", url: far.url },
        { name: "near", url: brokers[1]!.url },
      ]),
    ).toBe("near");
  });
});
