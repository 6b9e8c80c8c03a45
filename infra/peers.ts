import * as pulumi from "@pulumi/pulumi";
import type { PeerKafka } from "./broker-env.ts";
import { kafkaSecurity } from "./components/kafka.ts";
import type { RegioConfig } from "./config.ts";
import type { Region } from "./components/region.ts";

/**
 * Every region's nodes need every other region's Kafka, and each `Region` creates its own Kafka, so
 * no creation order gives each region its peers at construction. The peers' addresses and passwords
 * are handed over as deferred outputs, resolved once all regions exist; everything else a node
 * needs to know about a peer (TLS, SASL mechanism, user) comes from configuration right away.
 */
export class PeerDirectory {
  private readonly brokers: pulumi.Output<Record<string, string>>;
  private readonly passwords: pulumi.Output<Record<string, string>>;
  private readonly resolveBrokers: (source: pulumi.Output<Record<string, string>>) => void;
  private readonly resolvePasswords: (source: pulumi.Output<Record<string, string>>) => void;

  constructor(private readonly config: RegioConfig) {
    [this.brokers, this.resolveBrokers] = pulumi.deferredOutput<Record<string, string>>();
    [this.passwords, this.resolvePasswords] = pulumi.deferredOutput<Record<string, string>>();
  }

  /** The Kafka of every configured region but `region`, in configuration order. */
  peersOf(region: string): PeerKafka[] {
    return this.config.regions
      .filter((peer) => peer !== region)
      .map((peer) => {
        const security = kafkaSecurity(this.config.externalKafka[peer]);
        return {
          region: peer,
          kafka: {
            ...security,
            brokers: this.brokers.apply((b) => b[peer] ?? ""),
            ...(security.saslMechanism ? { password: this.passwords.apply((p) => p[peer] ?? "") } : {}),
          },
        };
      });
  }

  /** Call once, with all regions. */
  publish(regions: Region[]): void {
    const brokers: Record<string, pulumi.Input<string>> = {};
    const passwords: Record<string, pulumi.Input<string>> = {};
    for (const r of regions) {
      brokers[r.region] = r.kafka.forPeers.brokers;
      passwords[r.region] = r.kafka.forPeers.password ?? "";
    }
    this.resolveBrokers(pulumi.output(brokers));
    this.resolvePasswords(pulumi.secret(passwords));
  }
}
