import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entraTokenProvider, eventHubsResource } from "../src/replication/kafka/entra-token.ts";

/**
 * The managed identity endpoint is Azure's (Container Apps serves it inside the container): it is
 * stood in for by a local HTTP server that answers as the documented endpoint does.
 */
describe("Entra ID tokens for Event Hubs (OAUTHBEARER)", () => {
  const requests: IncomingMessage[] = [];
  let expiresInSeconds = 3600;
  let status = 200;
  let endpoint = "";
  const server = createServer((req, res) => {
    requests.push(req);
    if (status !== 200) {
      res.writeHead(status).end("identity not found");
      return;
    }
    const expiresOn = Math.floor(Date.now() / 1000) + expiresInSeconds;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: `token-${requests.length}`, expires_on: String(expiresOn) }));
  });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("asks the identity endpoint for the namespace's resource, with the identity header, and keeps the token", async () => {
    const resource = eventHubsResource("regio-east.servicebus.windows.net:9093");
    expect(resource).toBe("https://regio-east.servicebus.windows.net");
    const provider = entraTokenProvider({
      resource,
      clientId: "client-1",
      endpoint,
      header: "secret-header",
    });
    expect(await provider()).toEqual({ value: "token-1" });
    expect(await provider()).toEqual({ value: "token-1" });
    expect(requests).toHaveLength(1);
    const url = new URL(requests[0]!.url!, "http://x");
    expect(url.searchParams.get("resource")).toBe(resource);
    expect(url.searchParams.get("client_id")).toBe("client-1");
    expect(url.searchParams.get("api-version")).toBe("2019-08-01");
    expect(requests[0]!.headers["x-identity-header"]).toBe("secret-header");
  });

  it("fetches a new token before the one it has expires, and throws (for kafkajs to retry) when it cannot", async () => {
    requests.length = 0;
    expiresInSeconds = 60; // inside the 5-minute refresh margin: every call fetches
    const provider = entraTokenProvider({
      resource: "https://x.servicebus.windows.net",
      endpoint,
      header: "h",
    });
    await provider();
    await provider();
    expect(requests).toHaveLength(2);
    status = 500;
    await expect(provider()).rejects.toThrow(/HTTP 500/);
    status = 200;
    await expect(
      entraTokenProvider({ resource: "r", endpoint: undefined, header: undefined })(),
    ).rejects.toThrow(/no managed identity/);
  });
});
