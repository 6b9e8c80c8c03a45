import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import type { KafkaAccess } from "../broker-env.ts";
import type { EventHubsSettings, ExternalKafka } from "../config.ts";
import { brokerTopics } from "../topics.ts";

/** Port of the Event Hubs Kafka endpoint (TLS + SASL PLAIN with the connection string). */
export const EVENT_HUBS_KAFKA_PORT = 9093;

/** Event Hubs takes a connection string as the SASL PLAIN password under this fixed user name. */
const EVENT_HUBS_SASL = { ssl: true, saslMechanism: "plain", username: "$ConnectionString" } as const;

/** A region's Kafka as its own nodes use it, and as other regions' nodes use it. */
export interface RegionKafka {
  own: KafkaAccess;
  forPeers: KafkaAccess;
}

/** TLS and SASL settings of a region's Kafka, known from configuration alone. */
export function kafkaSecurity(
  external: ExternalKafka | undefined,
): Pick<KafkaAccess, "ssl" | "saslMechanism" | "username"> {
  if (!external) return { ...EVENT_HUBS_SASL };
  const { ssl, saslMechanism, username } = external;
  return { ssl, ...(saslMechanism ? { saslMechanism, username } : {}) };
}

/** An operator-run Kafka: nothing to create; every node, local or remote, uses the same credentials. */
export function externalKafka(
  external: ExternalKafka,
  password: pulumi.Output<string | undefined>,
): RegionKafka {
  const access: KafkaAccess = {
    brokers: external.brokers,
    ...kafkaSecurity(external),
    ...(external.saslMechanism ? { password: password.apply((p) => p ?? "") } : {}),
  };
  return { own: access, forPeers: access };
}

export interface EventHubsKafkaArgs {
  region: string;
  namespaceName: string;
  resourceGroupName: pulumi.Input<string>;
  settings: EventHubsSettings;
}

function connectionString(
  args: EventHubsKafkaArgs,
  namespace: azure.eventhub.Namespace,
  rule: azure.eventhub.NamespaceAuthorizationRule,
): pulumi.Output<string> {
  const keys = azure.eventhub.listNamespaceKeysOutput({
    resourceGroupName: args.resourceGroupName,
    // Outputs, not the plain names: the lookup must wait until the rule exists.
    namespaceName: namespace.name,
    authorizationRuleName: rule.name,
  });
  return pulumi.secret(keys.primaryConnectionString);
}

/**
 * An Event Hubs namespace used through its Kafka endpoint, with every topic the broker uses (see
 * infra/topics.ts): created here, not by the nodes, because compaction is an event hub property.
 */
export function eventHubsKafka(parent: pulumi.Resource, args: EventHubsKafkaArgs): RegionKafka {
  const opts = { parent };
  const { region, settings } = args;
  const namespace = new azure.eventhub.Namespace(
    `${region}-kafka`,
    {
      resourceGroupName: args.resourceGroupName,
      namespaceName: args.namespaceName,
      location: region,
      sku: { name: settings.sku, tier: settings.sku, capacity: settings.capacity },
      kafkaEnabled: true,
      minimumTlsVersion: "1.2",
    },
    opts,
  );
  for (const topic of brokerTopics(settings.partitions)) {
    new azure.eventhub.EventHub(
      `${region}-topic-${topic.name}`,
      {
        resourceGroupName: args.resourceGroupName,
        namespaceName: namespace.name,
        eventHubName: topic.name,
        partitionCount: topic.partitions,
        retentionDescription: topic.compacted
          ? { cleanupPolicy: "Compact", tombstoneRetentionTimeInHours: settings.retentionHours }
          : { cleanupPolicy: "Delete", retentionTimeInHours: settings.retentionHours },
      },
      opts,
    );
  }
  // Own nodes write their region's records and read them; remote regions only ever read. Nobody
  // needs Manage: every topic exists before a node starts, so no node creates one.
  const ownRule = new azure.eventhub.NamespaceAuthorizationRule(
    `${region}-kafka-broker`,
    {
      resourceGroupName: args.resourceGroupName,
      namespaceName: namespace.name,
      authorizationRuleName: "regio-broker",
      rights: ["Listen", "Send"],
    },
    opts,
  );
  const peerRule = new azure.eventhub.NamespaceAuthorizationRule(
    `${region}-kafka-peer`,
    {
      resourceGroupName: args.resourceGroupName,
      namespaceName: namespace.name,
      authorizationRuleName: "regio-peer",
      rights: ["Listen"],
    },
    opts,
  );
  const brokers = namespace.serviceBusEndpoint.apply(
    (endpoint) => `${new URL(endpoint).hostname}:${EVENT_HUBS_KAFKA_PORT}`,
  );
  return {
    own: { brokers, ...EVENT_HUBS_SASL, password: connectionString(args, namespace, ownRule) },
    forPeers: { brokers, ...EVENT_HUBS_SASL, password: connectionString(args, namespace, peerRule) },
  };
}
