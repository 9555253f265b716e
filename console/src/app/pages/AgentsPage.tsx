/**
 * The agents list: filters (name, type, state) and an order, all applied by the server
 * (`agents(filter:, orderBy:)`), a page at a time through the connection's cursors with the
 * list's totalCount, live state, create and edit (forms generated from the type's
 * configSchema), stop, restart and delete with confirmation.
 *
 * Live state: each agent on the shown page has its own `agentEvents` subscription without
 * `after` (only new events), and a STATUS_UPDATE sets its row's state from the event's `to`.
 * That reaches the page within milliseconds, with no polling and no re-query per change; the
 * API has no "all my agents" stream. That is also why the list goes a page at a time rather
 * than growing with "Load more": a page holds PAGE_SIZE agents, far below the server's
 * subscriptions per socket (100). Other changes (an agent created elsewhere) appear on
 * Refresh, and the list is read again whenever the live connection comes back after a drop,
 * since a change made while it was down would not be replayed without `after`. Over
 * Server-Sent Events (no WebSocket gets through) each subscription holds one of the browser's
 * few connections to the origin, so rows do not subscribe: the page is read again every
 * POLL_OVER_SSE_MS instead, and says so.
 */
import { useEffect, useState } from "react";
import { useMutation, useQuery, useSubscription, type CombinedError } from "urql";

import { graphql } from "../../gql";
import type { AgentOrderField, AgentState, OrderDirection } from "../../gql/graphql";
import { POLL_OVER_SSE_MS, useLiveOverSse, useReconnected } from "../client";
import { useSettled } from "../connection";
import { ErrorMessage } from "../errors";
import { Link } from "../router";
import { useSession } from "../session";
import { ConfirmButton, Field, Loading, Page, SelectField, countOf, formatTime } from "../ui";
import { AgentForm, AgentTypesQuery, type EditedAgent } from "./agents/AgentForm";
import { CursorPager, useCursorPages } from "./CursorPager";

export const PAGE_SIZE = 10;
export const AGENT_STATES: readonly AgentState[] = ["STARTING", "RUNNING", "STOPPED", "ERROR"];

const AgentsQuery = graphql(`
  query ConsoleAgents($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
          type
          state
          capabilities
          updatedAt
          lastSeen
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

/** The orders offered, as "FIELD DIRECTION"; the first is the server's own default. */
const ORDERS: readonly { value: `${AgentOrderField} ${OrderDirection}`; words: string }[] = [
  { value: "CREATED_AT DESC", words: "Newest first" },
  { value: "CREATED_AT ASC", words: "Oldest first" },
  { value: "NAME ASC", words: "Name, A to Z" },
  { value: "NAME DESC", words: "Name, Z to A" },
];

export const AgentStateEvents = graphql(`
  subscription ConsoleAgentStateEvents($agentId: ID!) {
    agentEvents(agentId: $agentId) {
      seq
      type
      data
    }
  }
`);

export const StopAgentMutation = graphql(`
  mutation ConsoleStopAgent($id: ID!) {
    stopAgent(id: $id) {
      id
      state
    }
  }
`);

export const RestartAgentMutation = graphql(`
  mutation ConsoleRestartAgent($id: ID!) {
    restartAgent(id: $id) {
      id
      state
    }
  }
`);

export const DeleteAgentMutation = graphql(`
  mutation ConsoleDeleteAgent($id: ID!) {
    deleteAgent(id: $id)
  }
`);

/** The state a STATUS_UPDATE event moved to, if `data` says. */
export function stateOf(data: unknown): AgentState | null {
  const to = (data as { to?: unknown } | null)?.to;
  return typeof to === "string" && (AGENT_STATES as readonly string[]).includes(to) ? (to as AgentState) : null;
}

/** The agent's state: as read, then as its STATUS_UPDATE events say. */
export function useLiveState(agentId: string, read: AgentState, overSse = false): AgentState {
  const [live, setLive] = useState<{ read: AgentState; state: AgentState }>({ read, state: read });
  // Over SSE, one stream per agent would hold the browser's connections: the list is read
  // again every few seconds instead (useLiveOverSse).
  const [events] = useSubscription({ query: AgentStateEvents, variables: { agentId }, pause: overSse });
  const event = events.data?.agentEvents;
  useEffect(() => {
    if (event?.type !== "STATUS_UPDATE") return;
    const to = stateOf(event.data);
    if (to) setLive({ read, state: to });
  }, [event?.seq]);
  // A fresh read (after a refresh) is newer than the last event seen.
  return live.read === read ? live.state : read;
}

export function StateBadge({ state }: { state: AgentState }) {
  return <span className={`badge state-${state.toLowerCase()}`}>{state}</span>;
}

type AgentRow = { id: string; name: string; type: string; state: AgentState; capabilities: readonly string[]; updatedAt: string };

/** Stop or restart (by state), and delete (with agent.delete): each asks first. */
export function AgentActions({
  agent,
  state,
  onError,
  onDeleted,
  onEdit,
}: {
  agent: { id: string; name: string };
  state: AgentState;
  onError: (error: CombinedError | null) => void;
  onDeleted: () => void;
  onEdit?: () => void;
}) {
  const session = useSession();
  const [, stop] = useMutation(StopAgentMutation);
  const [, restart] = useMutation(RestartAgentMutation);
  const [, remove] = useMutation(DeleteAgentMutation);
  const running = state === "RUNNING" || state === "STARTING";
  return (
    <div className="actions">
      {onEdit ? (
        <button type="button" onClick={onEdit} aria-label={`Edit agent ${agent.name}`}>
          Edit
        </button>
      ) : null}
      {running ? (
        <ConfirmButton
          aria-label={`Stop agent ${agent.name}`}
          question={`Stop ${agent.name}? It takes no commands until restarted.`}
          onConfirm={async () => onError((await stop({ id: agent.id })).error ?? null)}
        >
          Stop
        </ConfirmButton>
      ) : null}
      <ConfirmButton
        aria-label={`Restart agent ${agent.name}`}
        question={`Restart ${agent.name}?`}
        onConfirm={async () => onError((await restart({ id: agent.id })).error ?? null)}
      >
        Restart
      </ConfirmButton>
      {session.can("agent.delete") ? (
        <ConfirmButton
          danger
          aria-label={`Delete agent ${agent.name}`}
          question={`Delete ${agent.name}? Its tasks are cancelled and its logs, events and files deleted.`}
          onConfirm={async () => {
            const result = await remove({ id: agent.id });
            onError(result.error ?? null);
            if (!result.error) onDeleted();
          }}
        >
          Delete
        </ConfirmButton>
      ) : null}
    </div>
  );
}

function Row({
  agent,
  overSse,
  onEdit,
  onChanged,
  onError,
}: {
  agent: AgentRow;
  overSse: boolean;
  onEdit: () => void;
  onChanged: () => void;
  onError: (e: CombinedError | null) => void;
}) {
  const state = useLiveState(agent.id, agent.state, overSse);
  return (
    <tr>
      <th scope="row" data-label="Name">
        <Link to={`/agents/${encodeURIComponent(agent.id)}`}>{agent.name}</Link>
      </th>
      <td data-label="Type">{agent.type}</td>
      <td data-label="State">
        <StateBadge state={state} />
      </td>
      <td data-label="Capabilities">{agent.capabilities.length ? agent.capabilities.join(", ") : <span className="muted">none</span>}</td>
      <td data-label="Updated">{formatTime(agent.updatedAt)}</td>
      <td data-label="Actions">
        <AgentActions agent={agent} state={state} onEdit={onEdit} onError={onError} onDeleted={onChanged} />
      </td>
    </tr>
  );
}

export function AgentsPage() {
  const [types] = useQuery({ query: AgentTypesQuery, requestPolicy: "cache-first" });
  const [nameFilter, setNameFilter] = useState("");
  const [typeFilter, setTypeFilter] = useState("");
  const [stateFilter, setStateFilter] = useState("");
  const [order, setOrder] = useState<(typeof ORDERS)[number]["value"]>("CREATED_AT DESC");
  const [form, setForm] = useState<{ mode: "create" } | { mode: "edit"; agent: EditedAgent } | null>(null);
  const [actionError, setActionError] = useState<CombinedError | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  // The name is sent once typing pauses, not at every key.
  const name = useSettled(nameFilter.trim());
  const filtered = Boolean(name || typeFilter || stateFilter);
  const filter = filtered
    ? { nameContains: name || null, types: typeFilter ? [typeFilter] : null, states: stateFilter ? [stateFilter as AgentState] : null }
    : null;
  const [field, direction] = order.split(" ") as [AgentOrderField, OrderDirection];
  const pages = useCursorPages({ filter, order });
  const [agents, reread] = useQuery({
    query: AgentsQuery,
    variables: { filter, orderBy: { field, direction }, first: PAGE_SIZE, after: pages.after },
  });
  const connection = agents.data?.agents;
  const rows = connection?.edges.map((edge) => edge.node) ?? [];

  const refresh = () => reread({ requestPolicy: "network-only" });

  // Back from a dropped connection: changes made meanwhile were not streamed; read again.
  useReconnected(() => reread({ requestPolicy: "network-only" }));
  const overSse = useLiveOverSse(refresh);

  // A page emptied by deletions (or by changes elsewhere): back to the first.
  useEffect(() => {
    if (connection && rows.length === 0 && pages.page > 0) pages.reset();
  }, [connection]);

  const total = connection?.totalCount ?? 0;
  return (
    <Page
      title="Agents"
      actions={
        <>
          <button type="button" className="primary" onClick={() => setForm({ mode: "create" })} disabled={form?.mode === "create"}>
            New agent
          </button>
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        </>
      }
    >
      {notice ? (
        <p className="success" role="status">
          {notice}
        </p>
      ) : null}
      {form ? (
        <AgentForm
          key={form.mode === "edit" ? form.agent.id : "new"}
          agent={form.mode === "edit" ? form.agent : undefined}
          onDone={(id) => {
            if (id) setNotice(form.mode === "edit" ? `Saved agent ${form.agent.name}.` : "Agent created.");
            // A new agent is on the first page of the newest first.
            if (id && form.mode === "create") pages.reset();
            setForm(null);
            if (id) refresh();
          }}
        />
      ) : null}
      <form className="filters" role="search" aria-label="Filter agents" onSubmit={(e) => e.preventDefault()}>
        <Field label="Name contains" type="search" maxLength={200} value={nameFilter} onChange={(e) => setNameFilter(e.target.value)} />
        <SelectField label="Type" value={typeFilter} onChange={(e) => setTypeFilter(e.target.value)}>
          <option value="">All types</option>
          {(types.data?.agentTypes ?? []).map((t) => (
            <option key={t.name} value={t.name}>
              {t.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="State" value={stateFilter} onChange={(e) => setStateFilter(e.target.value)}>
          <option value="">All states</option>
          {AGENT_STATES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </SelectField>
        <SelectField label="Order" value={order} onChange={(e) => setOrder(e.target.value as typeof order)}>
          {ORDERS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.words}
            </option>
          ))}
        </SelectField>
      </form>
      <ErrorMessage error={agents.error} />
      <ErrorMessage error={actionError} />
      {agents.fetching && !agents.data ? <Loading what="agents" /> : null}
      {connection ? (
        <>
          <p role="status" className="muted">
            {filtered ? `${total === 1 ? "1 agent matches" : `${total} agents match`} these filters` : `${countOf(total, "agent")} in all`}
          </p>
          {overSse ? <p className="muted">Live updates travel over Server-Sent Events here: states are read again every {POLL_OVER_SSE_MS / 1000} seconds.</p> : null}
          {rows.length ? (
            <div className="table-wrap" aria-busy={agents.fetching || undefined}>
              <table className="responsive">
                <caption className="visually-hidden">Your agents, {ORDERS.find((o) => o.value === order)?.words.toLowerCase()}</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Type</th>
                    <th scope="col">State</th>
                    <th scope="col">Capabilities</th>
                    <th scope="col">Updated</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((agent) => (
                    <Row
                      key={agent.id}
                      agent={agent}
                      overSse={overSse}
                      onEdit={() => setForm({ mode: "edit", agent })}
                      onChanged={() => {
                        setNotice(`Deleted agent ${agent.name}.`);
                        refresh();
                      }}
                      onError={setActionError}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>{filtered ? "No agent matches these filters." : total ? "No agents on this page." : "You have no agents yet: create one with New agent."}</p>
          )}
          <CursorPager
            page={pages.page}
            hasNextPage={connection.pageInfo.hasNextPage}
            onNext={() => pages.next(connection.pageInfo.endCursor)}
            onPrevious={pages.previous}
            label="agents"
            byPage
            total={total}
            pageSize={PAGE_SIZE}
            shown={rows.length}
          />
        </>
      ) : null}
    </Page>
  );
}
