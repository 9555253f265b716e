/** How the Webhooks pages put a webhook and its deliveries into words. */
import type { DeliveryState } from "../../../gql/graphql";
import { EVENT_TYPES, EVENT_TYPE_WORDS, type Delivery, type Webhook } from "./documents";

/** The event types it is sent: "All" when it names none. */
export function eventTypesWords(webhook: Webhook): string {
  if (webhook.eventTypes.length === 0) return "All";
  return EVENT_TYPES.filter((type) => webhook.eventTypes.includes(type))
    .map((type) => EVENT_TYPE_WORDS[type])
    .join(", ");
}

/** The agents it watches, by name: "All" when it names none (every agent of its owner). */
export function agentsWords(webhook: Webhook): string {
  if (!webhook.agents) return "All";
  return webhook.agents.map((agent) => agent.name).join(", ") || "None (its agents were deleted)";
}

export const STATE_WORDS: Record<DeliveryState, string> = {
  PENDING: "Pending",
  DELIVERED: "Delivered",
  FAILED: "Failed",
};

/** The event a delivery carries: "COMMAND_RESULT #12", or the test event (seq 0). */
export function eventWords(delivery: Delivery): string {
  return delivery.eventSeq === 0 ? `Test event (${delivery.eventType})` : `${delivery.eventType} #${delivery.eventSeq}`;
}

export function ActiveBadge({ active }: { active: boolean }) {
  return <span className={`badge ${active ? "active" : "off"}`}>{active ? "Active" : "Switched off"}</span>;
}

export function StateBadge({ state }: { state: DeliveryState }) {
  return <span className={`badge delivery-${state.toLowerCase()}`}>{STATE_WORDS[state]}</span>;
}
