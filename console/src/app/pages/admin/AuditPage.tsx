/**
 * Administration: the audit log, every permission check newest first, filtered by user,
 * permission and outcome (auditLog's arguments) and paged by its cursors. The filters live
 * in the address (?user=&action=&granted=), so a filtered view can be shared or reloaded.
 */
import { useId, useState, type FormEvent } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { Field, Loading, Page, SelectField, formatTime } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import "../pages.css";

// The accounts to choose from (the first MAX_PAGE, oldest first; a user filter from the
// address that is not among them is still offered, as its id).
const UsersQuery = graphql(`
  query AuditPageUsers {
    users(first: 500) {
      edges {
        node {
          id
          email
        }
      }
    }
  }
`);

const AuditQuery = graphql(`
  query AuditPageLog($userId: ID, $action: String, $granted: Boolean, $first: Int, $after: String) {
    auditLog(userId: $userId, action: $action, granted: $granted, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          action
          resource
          granted
          timestamp
          requestId
          user {
            id
            email
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const PAGE_SIZES = [25, 50, 100, 250];

type Filters = { user: string; action: string; granted: "" | "true" | "false"; size: string };

function filtersOf(query: URLSearchParams): Filters {
  const granted = query.get("granted");
  const size = query.get("size") ?? "";
  return {
    user: query.get("user") ?? "",
    action: query.get("action") ?? "",
    granted: granted === "true" || granted === "false" ? granted : "",
    size: PAGE_SIZES.includes(Number(size)) ? size : "50",
  };
}

function addressOf(filters: Filters): string {
  const query = new URLSearchParams();
  if (filters.user) query.set("user", filters.user);
  if (filters.action.trim()) query.set("action", filters.action.trim());
  if (filters.granted) query.set("granted", filters.granted);
  if (filters.size !== "50") query.set("size", filters.size);
  const text = query.toString();
  return text ? `/admin/audit?${text}` : "/admin/audit";
}

export function AuditPage() {
  const route = useRoute();
  const applied = filtersOf(route.query);
  const key = addressOf(applied);
  return (
    <Page title="Audit log">
      <p>Every permission check the server made, granted or denied, newest first.</p>
      <FilterForm key={key} applied={applied} />
      <AuditEntries key={`entries-${key}`} filters={applied} />
    </Page>
  );
}

function FilterForm({ applied }: { applied: Filters }) {
  const session = useSession();
  const [{ data: userData, error: usersError }] = useQuery({ query: UsersQuery });
  const users = userData ? userData.users.edges.map((edge) => edge.node) : null;
  const [form, setForm] = useState<Filters>(applied);
  const actionsId = useId();
  const headingId = useId();
  const filtered = applied.user || applied.action || applied.granted;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    navigate(addressOf(form));
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Filters</h2>
      <form onSubmit={submit} className="filters">
        <SelectField label="User" value={form.user} onChange={(event) => setForm({ ...form, user: event.target.value })}>
          <option value="">Everyone</option>
          {(users ?? []).map((user) => (
            <option key={user.id} value={user.id}>
              {user.email}
            </option>
          ))}
          {form.user && users && !users.some((u) => u.id === form.user) ? (
            <option value={form.user}>{form.user} (not among the accounts listed)</option>
          ) : null}
        </SelectField>
        <Field
          label="Permission"
          hint="Exactly, e.g. agent.delete; empty for all."
          list={actionsId}
          value={form.action}
          onChange={(event) => setForm({ ...form, action: event.target.value })}
        />
        <datalist id={actionsId}>
          {(session.permissions ?? []).map((permission) => (
            <option key={permission} value={permission} />
          ))}
        </datalist>
        <SelectField
          label="Outcome"
          value={form.granted}
          onChange={(event) => setForm({ ...form, granted: event.target.value as Filters["granted"] })}
        >
          <option value="">Granted or denied</option>
          <option value="true">Granted only</option>
          <option value="false">Denied only</option>
        </SelectField>
        <SelectField label="Per page" value={form.size} onChange={(event) => setForm({ ...form, size: event.target.value })}>
          {PAGE_SIZES.map((size) => (
            <option key={size} value={String(size)}>
              {size}
            </option>
          ))}
        </SelectField>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          {filtered ? (
            <button type="button" onClick={() => navigate(addressOf({ user: "", action: "", granted: "", size: applied.size }))}>
              Clear filters
            </button>
          ) : null}
        </div>
      </form>
      <ErrorMessage error={usersError} />
    </section>
  );
}

function AuditEntries({ filters }: { filters: Filters }) {
  const pages = useCursorPages();
  const headingId = useId();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: AuditQuery,
    variables: {
      userId: filters.user || null,
      action: filters.action.trim() || null,
      granted: filters.granted === "" ? null : filters.granted === "true",
      first: Number(filters.size),
      after: pages.after,
    },
  });
  const connection = data?.auditLog;
  const entries = connection?.edges ?? [];

  return (
    <section aria-labelledby={headingId}>
      <div className="toolbar">
        <h2 id={headingId}>Checks</h2>
        <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })} disabled={fetching}>
          Refresh<span className="visually-hidden"> the audit log</span>
        </button>
      </div>
      <ErrorMessage error={error} />
      {fetching && !data ? <Loading what="the audit log" /> : null}
      {connection && entries.length === 0 ? <p className="muted">No check matches these filters.</p> : null}
      {entries.length > 0 ? (
        <div className="table-wrap">
          <table className="responsive">
            <caption className="visually-hidden">Permission checks, newest first, page {pages.page + 1}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Permission</th>
                <th scope="col">Resource</th>
                <th scope="col">Outcome</th>
                <th scope="col">Request</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(({ node: entry }) => (
                <tr key={entry.id} data-granted={entry.granted}>
                  <td data-label="When">{formatTime(entry.timestamp)}</td>
                  <td data-label="Who" className="wrap">{entry.user ? entry.user.email : "an account since deleted"}</td>
                  <td data-label="Permission">
                    <code>{entry.action}</code>
                  </td>
                  <td data-label="Resource" className="wrap">{entry.resource ?? "—"}</td>
                  <td data-label="Outcome">
                    <span className={entry.granted ? "granted" : "denied"}>{entry.granted ? "Granted" : "Denied"}</span>
                  </td>
                  <td data-label="Request" className="wrap">
                    <code>{entry.requestId ?? "—"}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {connection ? (
        <CursorPager
          page={pages.page}
          hasNextPage={connection.pageInfo.hasNextPage}
          onNext={() => pages.next(connection.pageInfo.endCursor)}
          onPrevious={pages.previous}
          label="audit entries"
        />
      ) : null}
    </section>
  );
}
