/**
 * The Webhooks pages' GraphQL documents: a webhook and a delivery as the pages show them, the
 * agents a webhook may watch (the signed-in user's own), and the mutations. createWebhook and
 * rotateWebhookSecret answer the signing secret, which the pages show once and keep nowhere.
 */
import { graphql } from "../../../gql";
import type { AgentEventType, WebhooksPageDeliveryFragment, WebhooksPageWebhookFragment } from "../../../gql/graphql";

graphql(`
  fragment WebhooksPageWebhook on Webhook {
    id
    url
    description
    eventTypes
    active
    createdAt
    agents {
      id
      name
    }
  }
`);

graphql(`
  fragment WebhooksPageDelivery on WebhookDelivery {
    id
    eventSeq
    eventType
    state
    attempts
    lastStatusCode
    lastError
    nextAttemptAt
    createdAt
    deliveredAt
    agent {
      id
      name
    }
  }
`);

export type Webhook = WebhooksPageWebhookFragment;
export type Delivery = WebhooksPageDeliveryFragment;

/** Every AgentEventType, in the schema's order, with words for a person: tsc asks for each. */
export const EVENT_TYPE_WORDS: Readonly<Record<AgentEventType, string>> = {
  STATUS_UPDATE: "Status changes",
  LOG: "Log lines",
  STREAM_CHUNK: "Streamed answers",
  ERROR: "Answer errors",
  COMMAND_RESULT: "Command results",
  TASK_PROGRESS: "Task progress",
  TASK_COMPLETE: "Tasks finished",
  APPROVAL_REQUESTED: "Approvals requested",
  APPROVAL_DECIDED: "Approvals decided",
  MESSAGE: "Thread messages",
};
export const EVENT_TYPES = Object.keys(EVENT_TYPE_WORDS) as AgentEventType[];

// The signed-in user's own agents, by name: a webhook watches its owner's agents only.
export const WebhookAgentsQuery = graphql(`
  query WebhooksPageAgents($ownerId: ID!) {
    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {
      edges {
        node {
          id
          name
          type
        }
      }
    }
  }
`);

export const CreateWebhookMutation = graphql(`
  mutation WebhooksPageCreate($input: WebhookInput!) {
    createWebhook(input: $input) {
      secret
      webhook {
        ...WebhooksPageWebhook
      }
    }
  }
`);

export const UpdateWebhookMutation = graphql(`
  mutation WebhooksPageUpdate($id: ID!, $input: WebhookPatch!) {
    updateWebhook(id: $id, input: $input) {
      ...WebhooksPageWebhook
    }
  }
`);

export const DeleteWebhookMutation = graphql(`
  mutation WebhooksPageDelete($id: ID!) {
    deleteWebhook(id: $id)
  }
`);

export const RotateWebhookSecretMutation = graphql(`
  mutation WebhooksPageRotate($id: ID!) {
    rotateWebhookSecret(id: $id) {
      secret
      webhook {
        ...WebhooksPageWebhook
      }
    }
  }
`);

export const TestWebhookMutation = graphql(`
  mutation WebhooksPageTest($id: ID!) {
    testWebhook(id: $id) {
      ...WebhooksPageDelivery
    }
  }
`);

export const RedeliverWebhookMutation = graphql(`
  mutation WebhooksPageRedeliver($deliveryId: ID!) {
    redeliverWebhook(deliveryId: $deliveryId) {
      ...WebhooksPageDelivery
    }
  }
`);

export const ReplayWebhookMutation = graphql(`
  mutation WebhooksPageReplay($id: ID!, $agentId: ID!, $after: Int!) {
    replayWebhook(id: $id, agentId: $agentId, after: $after)
  }
`);
