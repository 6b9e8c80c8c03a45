import * as azure from "@pulumi/azure-native";
import * as pulumi from "@pulumi/pulumi";
import type { KafkaAccess, KafkaAuth } from "../broker-env.ts";
import type { EventHubsAuth, EventHubsSettings, ExternalKafka } from "../config.ts";
import { brokerTopics } from "../topics.ts";

/** Port of the Event Hubs Kafka endpoint (TLS; SASL PLAIN or OAUTHBEARER). */
export const EVENT_HUBS_KAFKA_PORT = 9093;

/** Event Hubs takes a connection string as the SASL PLAIN password under this fixed user name. */
const EVENT_HUBS_SAS_USER = "$ConnectionString";

/** A region's Kafka as its own nodes use it, and as other regions' nodes use it. */
export interface RegionKafka {
  own: KafkaAccess;
  forPeers: KafkaAccess;
  /** The Event Hubs namespace, when this program created one (for role assignments and diagnostics). */
  namespace?: azure.eventhub.Namespace;
}

/**
 * How a node authenticates to a region's Kafka, as far as configuration tells (the password, where
 * there is one, is filled in later). Known before deploy, so every node's variable names are too.
 */
export function kafkaAuthKind(
  external: ExternalKafka | undefined,
  eventHubs: EventHubsAuth,
): KafkaAuth["kind"] {
  if (external) return external.saslMechanism ? "sasl-plain" : "none";
  return eventHubs === "entra" ? "entra" : "sasl-plain";
}

/** TLS and the SASL user of a region's Kafka, before any password is known. */
export function kafkaSecurity(
  external: ExternalKafka | undefined,
  eventHubs: EventHubsAuth,
  password: () => pulumi.Input<string>,
): Pick<KafkaAccess, "ssl" | "auth"> {
  const kind = kafkaAuthKind(external, eventHubs);
  const ssl = external ? external.ssl : true;
  switch (kind) {
    case "none":
      return { ssl, auth: { kind } };
    case "entra":
      return { ssl, auth: { kind } };
    case "sasl-plain":
      return {
        ssl,
        auth: { kind, username: external?.username ?? EVENT_HUBS_SAS_USER, password: password() },
      };
  }
}

/** An operator-run Kafka: nothing to create; every node, local or remote, uses the same credentials. */
export function externalKafka(
  external: ExternalKafka,
  password: pulumi.Output<string | undefined>,
): RegionKafka {
  const access: KafkaAccess = {
    brokers: external.brokers,
    ...kafkaSecurity(external, "sas", () => password.apply((p) => p ?? "")),
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
 *
 * With `sas`, two authorization rules: `regio-broker` (Listen, Send) for the region's own nodes and
 * `regio-peer` (Listen) for every other region's. With `entra`, none: the namespace's keys are
 * disabled and the Region grants roles to identities instead (Data Sender and Receiver to its
 * own nodes, Data Receiver to other regions'). Nobody needs Manage: no node creates a topic.
 */
export function eventHubsKafka(parent: pulumi.Resource, args: EventHubsKafkaArgs): RegionKafka {
  const opts = { parent };
  const { region, settings } = args;
  const entra = settings.auth === "entra";
  const namespace = new azure.eventhub.Namespace(
    `${region}-kafka`,
    {
      resourceGroupName: args.resourceGroupName,
      namespaceName: args.namespaceName,
      location: region,
      sku: { name: settings.sku, tier: settings.sku, capacity: settings.capacity },
      kafkaEnabled: true,
      minimumTlsVersion: "1.2",
      disableLocalAuth: entra,
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
  const brokers = namespace.serviceBusEndpoint.apply(
    (endpoint) => `${new URL(endpoint).hostname}:${EVENT_HUBS_KAFKA_PORT}`,
  );
  if (entra) {
    const access: KafkaAccess = { brokers, ssl: true, auth: { kind: "entra" } };
    return { own: access, forPeers: access, namespace };
  }
  const rule = (name: string, rights: string[]) =>
    new azure.eventhub.NamespaceAuthorizationRule(
      `${region}-kafka-${name}`,
      {
        resourceGroupName: args.resourceGroupName,
        namespaceName: namespace.name,
        authorizationRuleName: `regio-${name}`,
        rights,
      },
      opts,
    );
  const sas = (r: azure.eventhub.NamespaceAuthorizationRule): KafkaAccess => ({
    brokers,
    ssl: true,
    auth: {
      kind: "sasl-plain",
      username: EVENT_HUBS_SAS_USER,
      password: connectionString(args, namespace, r),
    },
  });
  return { own: sas(rule("broker", ["Listen", "Send"])), forPeers: sas(rule("peer", ["Listen"])), namespace };
}
