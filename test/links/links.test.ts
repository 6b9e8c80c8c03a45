import { LinkSet, newLinkState } from "../../sdk/src/link/link-set.ts";
import { RegionalLinks } from "../../sdk/src/link/regional-links.ts";
import { ACCESS_KEY, HUB } from "../support/regio-harness.ts";
import { linksContract } from "./contract.ts";

const appServerId = "contract-app";

linksContract("LinkSet, one region", 1, ([broker]) => ({
  links: new LinkSet(
    { endpoint: new URL(broker!.url), hub: HUB, accessKey: ACCESS_KEY, appServerId },
    newLinkState(appServerId),
  ),
  appServerId,
}));

linksContract("RegionalLinks, two regions", 2, ([near, far]) => ({
  links: new RegionalLinks({
    hub: HUB,
    appServerId,
    regions: [
      { name: "near", endpoint: new URL(near!.url), accessKey: ACCESS_KEY },
      { name: "far", endpoint: new URL(far!.url), accessKey: ACCESS_KEY },
    ],
  }),
  appServerId,
}));
