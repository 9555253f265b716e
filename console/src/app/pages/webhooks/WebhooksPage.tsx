/**
 * Your webhooks (every user's for ADMIN), newest first as the server lists them, a page at a
 * time with the list's totalCount: each with its URL, description, the event types and agents
 * it is sent (or "All"), whether it is active, and when it was made. "New webhook" opens the
 * form; once made, its signing secret is shown this once. A URL leads to the webhook's page.
 */
import { useEffect, useState } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { useSession } from "../../session";
import { Loading, Page, countOf, formatTime } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import "../pages.css";
import type { Webhook } from "./documents";
import { SigningSecret } from "./SigningSecret";
import { WebhookForm } from "./WebhookForm";
import "./webhooks.css";
import { ActiveBadge, agentsWords, eventTypesWords } from "./words";

const PAGE_SIZE = 20;

const WebhooksQuery = graphql(`
  query WebhooksPageWebhooks($first: Int, $after: String) {
    webhooks(first: $first, after: $after) {
      edges {
        cursor
        node {
          ...WebhooksPageWebhook
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`);

export function webhookPath(webhook: { id: string }): string {
  return `/webhooks/${encodeURIComponent(webhook.id)}`;
}

function Row({ webhook }: { webhook: Webhook }) {
  return (
    <tr>
      <th scope="row" data-label="URL" className="webhook-url">
        <Link to={webhookPath(webhook)}>{webhook.url}</Link>
      </th>
      <td data-label="Description" className="wrap">
        {webhook.description ?? <span className="muted">none</span>}
      </td>
      <td data-label="Event types">{eventTypesWords(webhook)}</td>
      <td data-label="Agents" className="wrap">
        {agentsWords(webhook)}
      </td>
      <td data-label="Active">
        <ActiveBadge active={webhook.active} />
      </td>
      <td data-label="Created">{formatTime(webhook.createdAt)}</td>
    </tr>
  );
}

export function WebhooksPage() {
  const session = useSession();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ webhook: Webhook; secret: string } | null>(null);
  const pages = useCursorPages();
  const [result, reread] = useQuery({
    query: WebhooksQuery,
    variables: { first: PAGE_SIZE, after: pages.after },
    // Changes made on a webhook's page (a delete returns only an id) show when coming back.
    requestPolicy: "cache-and-network",
  });
  const connection = result.data?.webhooks;
  const rows = connection?.edges.map((edge) => edge.node) ?? [];
  const refresh = () => reread({ requestPolicy: "network-only" });
  const whose = session.user?.role === "ADMIN" ? "of every user" : "of yours";

  // A page emptied by deletions elsewhere: back to the first.
  useEffect(() => {
    if (connection && rows.length === 0 && pages.page > 0) pages.reset();
  }, [connection]);

  return (
    <Page
      title="Webhooks"
      actions={
        <>
          {session.can("webhook.manage") ? (
            <button type="button" className="primary" onClick={() => { setCreating(true); setCreated(null); }} disabled={creating}>
              New webhook
            </button>
          ) : null}
          <button type="button" onClick={refresh}>
            Refresh<span className="visually-hidden"> the webhooks</span>
          </button>
        </>
      }
    >
      <p className="muted">
        A webhook POSTs your agents' events to an endpoint of yours as they happen, each signed with its secret (Standard
        Webhooks), retried for about a day while the endpoint fails.
      </p>
      {created ? (
        <SigningSecret title="The signing secret of your new webhook" secret={created.secret} onDone={() => setCreated(null)}>
          <p>
            Webhook <Link to={webhookPath(created.webhook)}>{created.webhook.url}</Link> created{created.webhook.active ? "" : ", switched off"}.
          </p>
        </SigningSecret>
      ) : null}
      {creating ? (
        <WebhookForm
          onDone={(saved) => {
            setCreating(false);
            if (!saved?.secret) return;
            setCreated({ webhook: saved.webhook, secret: saved.secret });
            // A new webhook leads the first page (newest first).
            pages.reset();
            refresh();
          }}
        />
      ) : null}
      <ErrorMessage error={result.error} />
      {result.fetching && !result.data ? <Loading what="webhooks" /> : null}
      {connection ? (
        <>
          <p role="status" className="muted">
            {countOf(connection.totalCount, "webhook")} {whose}
          </p>
          {rows.length ? (
            <div className="table-wrap" aria-busy={result.fetching || undefined}>
              <table className="responsive">
                <caption className="visually-hidden">Webhooks {whose}, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">URL</th>
                    <th scope="col">Description</th>
                    <th scope="col">Event types</th>
                    <th scope="col">Agents</th>
                    <th scope="col">Active</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((webhook) => (
                    <Row key={webhook.id} webhook={webhook} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>{connection.totalCount ? "No webhooks on this page." : "You have no webhooks yet: create one with New webhook."}</p>
          )}
          <CursorPager
            page={pages.page}
            hasNextPage={connection.pageInfo.hasNextPage}
            onNext={() => pages.next(connection.pageInfo.endCursor)}
            onPrevious={pages.previous}
            label={`webhooks ${whose}`}
            total={connection.totalCount}
            pageSize={PAGE_SIZE}
            shown={rows.length}
          />
        </>
      ) : null}
    </Page>
  );
}
