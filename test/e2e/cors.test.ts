import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientPath } from "@regio/protocol";
import { killNode, startCliNode, type CliNode } from "../support/cli-node.ts";
import { HUB, startAppServer, stopAppServer, type AppServer } from "../support/regio-harness.ts";

const ALLOWED = "https://app.example";
const HANDSHAKE = "?EIO=4&transport=polling";

/** A browser's request from `origin`: its answer's status, CORS headers and JSON code. */
async function fromBrowser(node: CliNode, path: string, origin = ALLOWED) {
  const response = await fetch(node.url + path, { headers: { Origin: origin } });
  const text = await response.text();
  return {
    status: response.status,
    allowOrigin: response.headers.get("access-control-allow-origin"),
    allowCredentials: response.headers.get("access-control-allow-credentials"),
    vary: response.headers.get("vary"),
    code: text.startsWith("{") ? (JSON.parse(text) as { code?: unknown }).code : undefined,
  };
}

/**
 * `--cors-origin` with `--cors-credentials`: a page of an allowed origin can read every answer of a
 * node on client paths, its refusals included, with credentials; another origin can read none.
 */
describe("CORS of a node's answers on client paths", () => {
  let node: CliNode;
  let app: AppServer | undefined;

  beforeAll(async () => {
    node = await startCliNode("cors", ["--port=0", `--cors-origin=${ALLOWED}`, "--cors-credentials"]);
  });
  afterAll(async () => {
    if (app) await stopAppServer(app);
    await killNode(node);
  });

  it("allows the origin, with credentials, on the node's own refusals: 503, 400, 404", async () => {
    const allowed = { allowOrigin: ALLOWED, allowCredentials: "true", vary: "Origin" };
    expect(await fromBrowser(node, clientPath(HUB) + HANDSHAKE)).toEqual({
      status: 503,
      code: "NO_APP_SERVER",
      ...allowed,
    });
    expect(await fromBrowser(node, "/clients/socketio/hubs/not-a-hub!/" + HANDSHAKE)).toEqual({
      status: 400,
      code: "BAD_HUB",
      ...allowed,
    });
    expect(await fromBrowser(node, `${clientPath(HUB)}/more/${HANDSHAKE}`)).toEqual({
      status: 404,
      code: "NOT_FOUND",
      ...allowed,
    });
  });

  it("gives another origin its 403 without allowing it to read anything", async () => {
    expect(await fromBrowser(node, clientPath(HUB) + HANDSHAKE, "https://evil.example")).toEqual({
      status: 403,
      code: "FORBIDDEN",
      allowOrigin: null,
      allowCredentials: null,
      vary: null,
    });
  });

  it("allows the origin, with credentials, on engine.io's answers: a handshake and an unknown session", async () => {
    app = await startAppServer(node);
    const handshake = await fromBrowser(node, clientPath(HUB) + HANDSHAKE);
    expect(handshake).toMatchObject({ status: 200, allowOrigin: ALLOWED, allowCredentials: "true" });
    const unknown = await fromBrowser(node, `${clientPath(HUB)}${HANDSHAKE}&sid=no-such-session`);
    expect(unknown).toMatchObject({ status: 400, allowOrigin: ALLOWED, allowCredentials: "true" });
  });
});
