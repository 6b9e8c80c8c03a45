import * as pulumi from "@pulumi/pulumi";
import type { PeerKafka } from "./broker-env.ts";
import { kafkaSecurity } from "./components/kafka.ts";
import type { Settings } from "./config.ts";

/** What a region hands the others once it exists. */
export interface RegionShare {
  region: string;
  /** Its Kafka's bootstrap brokers. */
  brokers: pulumi.Input<string>;
  /** The password other regions read its Kafka with (listen-only where this program creates it). */
  peerPassword?: pulumi.Input<string>;
  /** Its nodes' managed identity, which other regions' namespaces let read (Entra ID). */
  principalId: pulumi.Input<string>;
  /** Its Container Apps environment's domain: every node URL of the region is `https://<app>.<domain>`. */
  defaultDomain: pulumi.Input<string>;
  /** Role assignments its namespace gives each other region's identity (Entra ID), by region. */
  grantsTo: Record<string, pulumi.Input<string>>;
}

type Deferred<T> = { output: pulumi.Output<T>; resolve: (source: pulumi.Output<T>) => void };

function deferred<T>(): Deferred<T> {
  const [output, resolve] = pulumi.deferredOutput<T>();
  return { output, resolve };
}

/**
 * Every region's nodes need every other region's Kafka, may only start once the other regions let
 * their identity read, and check peers' URLs against a pattern that names every region. Each
 * `Region` creates its own share of these, so no construction order gives a region the others';
 * they are handed over as deferred outputs, resolved once all regions exist. Everything a node must
 * know of a peer before deploy (TLS, SASL mechanism, user) comes from configuration right away.
 */
export class PeerDirectory {
  private readonly brokers = deferred<Record<string, string>>();
  private readonly passwords = deferred<Record<string, string>>();
  private readonly principals = deferred<Record<string, string>>();
  private readonly domains = deferred<Record<string, string>>();
  private readonly grants = deferred<Record<string, string[]>>();

  constructor(private readonly settings: Pick<Settings, "regions" | "externalKafka" | "eventHubs">) {}

  /** The Kafka of every configured region but `region`, in configuration order. */
  peersOf(region: string): PeerKafka[] {
    return this.others(region).map((peer) => ({
      region: peer,
      kafka: {
        brokers: this.brokers.output.apply((b) => b[peer] ?? ""),
        ...kafkaSecurity(this.settings.externalKafka[peer], this.settings.eventHubs.auth, () =>
          this.passwords.output.apply((p) => p[peer] ?? ""),
        ),
      },
    }));
  }

  /** The identity of every other region's nodes, by region (to let them read this region's Kafka). */
  principalsOtherThan(region: string): Record<string, pulumi.Output<string>> {
    return Object.fromEntries(
      this.others(region).map((peer) => [peer, this.principals.output.apply((p) => p[peer] ?? "")]),
    );
  }

  /** The role assignments other regions made for `region`'s identity: what its nodes wait for. */
  grantsReceivedBy(region: string): pulumi.Output<string[]> {
    return this.grants.output.apply((g) => g[region] ?? []);
  }

  /**
   * REGIO_NODE_URL_PATTERN for every node: each region's environment domain. A node URL is
   * `https://<app>.<domain>`, one label before the domain, so the `*` never has to span a dot.
   */
  nodeUrlPattern(): pulumi.Output<string> {
    return this.domains.output.apply((d) =>
      this.settings.regions.map((region) => `https://*.${d[region] ?? ""}`).join(","),
    );
  }

  /** Call once, with every region's share. */
  publish(shares: RegionShare[]): void {
    const byRegion = <T>(pick: (s: RegionShare) => pulumi.Input<T>) =>
      pulumi.output(Object.fromEntries(shares.map((s) => [s.region, pick(s)]))) as pulumi.Output<
        Record<string, T>
      >;
    this.brokers.resolve(byRegion((s) => s.brokers));
    this.passwords.resolve(pulumi.secret(byRegion((s) => s.peerPassword ?? "")));
    this.principals.resolve(byRegion((s) => s.principalId));
    this.domains.resolve(byRegion((s) => s.defaultDomain));
    const received: Record<string, pulumi.Input<string>[]> = {};
    for (const share of shares) {
      for (const [holder, assignment] of Object.entries(share.grantsTo)) {
        (received[holder] ??= []).push(assignment);
      }
    }
    this.grants.resolve(
      pulumi.output(
        Object.fromEntries(Object.entries(received).map(([r, ids]) => [r, pulumi.all(ids)])),
      ) as pulumi.Output<Record<string, string[]>>,
    );
  }

  private others(region: string): string[] {
    return this.settings.regions.filter((peer) => peer !== region);
  }
}
