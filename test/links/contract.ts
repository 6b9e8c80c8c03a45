import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Socket as ClientSocket } from "socket.io-client";
import type { BrokerHandle } from "@regio/broker";
import { ErrorCode, MessageType, RegioError, type Message } from "@regio/protocol";
import type { UnsequencedOperation } from "../../sdk/src/link/outbox.ts";
import type { Links } from "../../sdk/src/link/regional-links.ts";
import {
  connect,
  HUB,
  startAppServer,
  startTestBroker,
  stopAppServer,
  type AppServer,
} from "../support/regio-harness.ts";
import { collect, connected, once, until } from "../support/events.ts";

export interface LinksUnderTest {
  links: Links;
  /** The app server id the links authenticate as. */
  appServerId: string;
}

/**
 * The guarantees of the SDK's Links seam (see the Links interface), run against every
 * implementation: `create` links to the given brokers (the first is the nearest / the primary).
 */
export function linksContract(
  name: string,
  brokerCount: number,
  create: (brokers: BrokerHandle[]) => LinksUnderTest,
): void {
  describe(`Links contract: ${name}`, () => {
    let brokers: BrokerHandle[];
    let under: LinksUnderTest;
    let node: BrokerHandle;
    const apps: AppServer[] = [];
    const clients: ClientSocket[] = [];

    beforeEach(async () => {
      brokers = [];
      for (let i = 0; i < brokerCount; i++) brokers.push(await startTestBroker());
      // An app server on every node serves the listening clients (linked first, it gets them).
      for (const broker of brokers) apps.push(await startAppServer(broker));
      under = create(brokers);
      const up = once(under.links, "up");
      under.links.start();
      await up;
      // The node the links use: the one they linked to (of two regions, the nearer one).
      node = brokers.find((b) =>
        [...(b.hub(HUB)?.links.values() ?? [])].some((l) => l.appServerId === under.appServerId),
      )!;
    });
    afterEach(async () => {
      clients.splice(0).forEach((c) => c.disconnect());
      await under.links.close();
      for (const app of apps.splice(0)) await stopAppServer(app);
      for (const broker of brokers) await broker.close();
    });

    /** A raw broadcast of `2["n",<i>]` to everyone: what the adapter sends for io.emit("n", i). */
    const broadcast = (i: number): UnsequencedOperation => ({
      type: MessageType.Broadcast,
      target: { nsp: "/", rooms: [], except: [] },
      packet: [`2["n",${i}]`],
      flags: 0,
    });

    /** A client of the node the links use, served by that node's app server. */
    async function listener(): Promise<ClientSocket> {
      const client = await connected(connect(node, "/", { transports: ["websocket"] }));
      clients.push(client);
      return client;
    }

    it("numbers operations in call order and delivers each once, in order", async () => {
      const client = await listener();
      const got = collect<number>(client, "n", 50);
      const seqs = Array.from({ length: 50 }, (_, i) => under.links.sendOperation(broadcast(i)));
      expect(seqs).toEqual([...Array(50).keys()].map((i) => i + 1));
      expect(await got).toEqual([...Array(50).keys()]);
    });

    it("keeps unacknowledged operations across a lost link and delivers them once, in order", async () => {
      const client = await listener();
      const got = collect<number>(client, "n", 100);
      for (let i = 0; i < 50; i++) under.links.sendOperation(broadcast(i));
      // The node drops the links' connection at once, as a network failure would.
      for (const link of node.hub(HUB)!.links.values())
        if (link.appServerId === under.appServerId) link.terminate();
      for (let i = 50; i < 100; i++) under.links.sendOperation(broadcast(i));
      expect(await got).toEqual([...Array(100).keys()]);
    });

    it("refuses an operation larger than a node accepts, without numbering it", async () => {
      const huge: UnsequencedOperation = {
        type: MessageType.Broadcast,
        target: { nsp: "/", rooms: [], except: [] },
        packet: [`2["n","${"x".repeat(1_100_000)}"]`],
        flags: 0,
      };
      let refusal: unknown;
      try {
        under.links.sendOperation(huge);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(RegioError);
      expect((refusal as RegioError).code).toBe(ErrorCode.PayloadTooLarge);
      expect(under.links.sendOperation(broadcast(1))).toBe(1);
    });

    it("answers requests", async () => {
      const answer = await new Promise<Message>((resolve) =>
        under.links.request(
          (requestId) => ({ type: MessageType.ServerCount, requestId }),
          (reply) => {
            resolve(reply);
            return true;
          },
        ),
      );
      expect(answer).toMatchObject({ type: MessageType.ServerCountResult });
    });

    it("drops an operation a node refuses for good and reports it", async () => {
      const errors: RegioError[] = [];
      under.links.on("error", (error) => errors.push(error));
      // A sequence number out of range, as only a broken SDK would send: the node refuses it.
      const link = [...node.hub(HUB)!.links.values()].find((l) => l.appServerId === under.appServerId)!;
      link.send({
        type: MessageType.Error,
        code: ErrorCode.BadSequence,
        message: "test",
        retriable: false,
        seq: 1,
      });
      under.links.sendOperation(broadcast(0));
      await until(() => errors.some((e) => e.code === ErrorCode.BadSequence), "the refusal is reported");
    });
  });
}
