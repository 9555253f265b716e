/**
 * A webhook's deliveries, newest first, a page at a time (all of them, or only those given up
 * on): each with its event, agent, state, attempts, the endpoint's last status and the error,
 * and when it is tried next; each can be sent again now (Redeliver, same webhook-id). While a
 * delivery is due soon the table reads itself again every few seconds, so one being sent is
 * seen delivered or failing without a reload.
 */
import { useEffect, useId, useState } from "react";
import { useMutation, useQuery } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { Field, countOf, formatTime } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import { RedeliverWebhookMutation, type Delivery } from "./documents";
import { StateBadge, eventWords } from "./words";

const PAGE_SIZE = 20;
// Read again while a shown delivery is due within this long (being sent, or retried soon).
const WATCH_WITHIN_MS = 60_000;
const WATCH_EVERY_MS = 1_500;

const DeliveriesQuery = graphql(`
  query WebhooksPageDeliveries($id: ID!, $failedOnly: Boolean, $first: Int, $after: String) {
    webhook(id: $id) {
      id
      deliveries(failedOnly: $failedOnly, first: $first, after: $after) {
        edges {
          cursor
          node {
            ...WebhooksPageDelivery
          }
        }
        pageInfo {
          hasNextPage
          endCursor
        }
        totalCount
      }
    }
  }
`);

function dueSoon(delivery: Delivery, now: number): boolean {
  if (delivery.state !== "PENDING") return false;
  return !delivery.nextAttemptAt || Date.parse(delivery.nextAttemptAt) - now < WATCH_WITHIN_MS;
}

function Row({ delivery, active, onRedeliver }: { delivery: Delivery; active: boolean; onRedeliver: (delivery: Delivery) => void }) {
  return (
    <tr>
      <th scope="row" data-label="Event">
        {eventWords(delivery)}
        <br />
        <code className="muted">{delivery.id}</code>
      </th>
      <td data-label="Agent">
        <Link to={`/agents/${encodeURIComponent(delivery.agent.id)}`}>{delivery.agent.name}</Link>
      </td>
      <td data-label="State">
        <StateBadge state={delivery.state} />
      </td>
      <td data-label="Attempts">{delivery.attempts}</td>
      <td data-label="Last status">{delivery.lastStatusCode ?? <span className="muted">none</span>}</td>
      <td data-label="Last error" className="wrap">
        {delivery.lastError ?? <span className="muted">none</span>}
      </td>
      <td data-label="Next attempt">
        {delivery.state === "PENDING"
          ? active
            ? delivery.nextAttemptAt
              ? formatTime(delivery.nextAttemptAt)
              : "now"
            : "when switched on"
          : <span className="muted">none</span>}
      </td>
      <td data-label="Delivered">{delivery.deliveredAt ? formatTime(delivery.deliveredAt) : <span className="muted">not yet</span>}</td>
      <td>
        <button type="button" onClick={() => onRedeliver(delivery)} aria-label={`Redeliver ${eventWords(delivery)}, delivery ${delivery.id}`}>
          Redeliver
        </button>
      </td>
    </tr>
  );
}

type Props = {
  webhookId: string;
  /** Whether the webhook is on: a pending delivery of one switched off waits. */
  active: boolean;
  /** Changed by the page after something queued deliveries (a test, a replay): read again. */
  version: number;
};

export function Deliveries({ webhookId, active, version }: Props) {
  const headingId = useId();
  const [failedOnly, setFailedOnly] = useState(false);
  const pages = useCursorPages([webhookId, failedOnly]);
  const [result, reread] = useQuery({
    query: DeliveriesQuery,
    variables: { id: webhookId, failedOnly, first: PAGE_SIZE, after: pages.after },
    requestPolicy: "cache-and-network",
  });
  const [redelivered, redeliver] = useMutation(RedeliverWebhookMutation);
  const [said, setSaid] = useState("");
  const connection = result.data?.webhook?.deliveries;
  const rows = connection?.edges.map((edge) => edge.node) ?? [];
  const refresh = () => reread({ requestPolicy: "network-only" });

  // Something was queued: the newest first, from the first page.
  useEffect(() => {
    if (version === 0) return;
    pages.reset();
    refresh();
  }, [version]);
  // While a shown delivery is due soon, read again until it is not.
  const watching = active && rows.some((delivery) => dueSoon(delivery, Date.now()));
  useEffect(() => {
    if (!watching || result.fetching) return;
    const timer = window.setTimeout(refresh, WATCH_EVERY_MS);
    return () => window.clearTimeout(timer);
  }, [watching, result.fetching, result.data]);

  const again = async (delivery: Delivery) => {
    const answer = await redeliver({ deliveryId: delivery.id });
    if (answer.data) {
      setSaid(`Delivery ${delivery.id} (${eventWords(delivery)}) queued to be sent again now, with the same webhook-id.`);
      refresh();
    }
  };

  const what = failedOnly ? "failed deliveries" : "deliveries";
  return (
    <section aria-labelledby={headingId}>
      <div className="toolbar">
        <h2 id={headingId}>Deliveries</h2>
        <Field type="checkbox" label="Failed only" checked={failedOnly} onChange={(event) => setFailedOnly(event.target.checked)} />
        <button type="button" onClick={refresh}>
          Refresh<span className="visually-hidden"> the deliveries</span>
        </button>
      </div>
      <p role="status" className="status">
        {said}
      </p>
      <ErrorMessage error={result.error ?? redelivered.error} />
      {connection ? (
        <>
          <p role="status" className="muted">
            {connection.totalCount
              ? `${countOf(connection.totalCount, failedOnly ? "failed delivery" : "delivery", failedOnly ? "failed deliveries" : "deliveries")}, newest first.`
              : failedOnly
                ? "No failed deliveries."
                : "No deliveries yet: events of the agents it watches are queued here as they happen (Send test event sends one now)."}
          </p>
          {rows.length ? (
            <div className="table-wrap" aria-busy={result.fetching || undefined}>
              <table className="responsive">
                <caption className="visually-hidden">Deliveries of this webhook{failedOnly ? ", failed only" : ""}, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">Agent</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Last status</th>
                    <th scope="col">Last error</th>
                    <th scope="col">Next attempt</th>
                    <th scope="col">Delivered</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((delivery) => (
                    <Row key={delivery.id} delivery={delivery} active={active} onRedeliver={(d) => void again(d)} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
          <CursorPager
            page={pages.page}
            hasNextPage={connection.pageInfo.hasNextPage}
            onNext={() => pages.next(connection.pageInfo.endCursor)}
            onPrevious={pages.previous}
            label={what}
            total={connection.totalCount}
            pageSize={PAGE_SIZE}
            shown={rows.length}
          />
        </>
      ) : null}
    </section>
  );
}
