/**
 * Your threads (every user's for ADMIN), most recent first (the server's UPDATED_AT DESC:
 * the thread last written to on top, as a chat list has it), a page at a time with the
 * list's totalCount, of one agent (`?agent=`, where an agent's page links) or all: each
 * with its agent, its newest message and when it was last written to. "New
 * thread" asks for an agent and a title and opens the new thread's chat page.
 */
import { useEffect, useState } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import type { ThreadsPageThreadsQuery } from "../../../gql/graphql";
import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { Loading, Page, SelectField, countOf, formatTime } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import "../pages.css";
import { ROLE_WORDS, ThreadAgentsQuery, threadName, threadPath } from "./documents";
import { ThreadForm } from "./ThreadForm";
import "./threads.css";

const PAGE_SIZE = 20;
/** How much of the newest message a row shows. */
const PREVIEW = 120;

// By last activity. A thread written to while paging moves to the front, so a later page
// may miss it; Refresh (or the first page) shows it on top.
const ThreadsQuery = graphql(`
  query ThreadsPageThreads($agentId: ID, $first: Int, $after: String) {
    threads(agentId: $agentId, orderBy: { field: UPDATED_AT, direction: DESC }, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...ThreadsPageThread
          messages(last: 1) {
            edges {
              node {
                id
                role
                content
              }
            }
          }
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

type Row = ThreadsPageThreadsQuery["threads"]["edges"][number]["node"];

function preview(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > PREVIEW ? `${flat.slice(0, PREVIEW - 1)}…` : flat;
}

function ThreadRow({ thread }: { thread: Row }) {
  const newest = thread.messages.edges[0]?.node;
  return (
    <tr>
      <th scope="row" data-label="Thread" className="wrap">
        <Link to={threadPath(thread)}>{threadName(thread)}</Link>
      </th>
      <td data-label="Agent">
        <Link to={`/agents/${encodeURIComponent(thread.agent.id)}`}>{thread.agent.name}</Link>
      </td>
      <td data-label="Newest message" className="wrap">
        {newest ? (
          <>
            <span className="who-said">{newest.role === "ASSISTANT" ? thread.agent.name : ROLE_WORDS[newest.role]}:</span> {preview(newest.content)}
          </>
        ) : (
          <span className="muted">none yet</span>
        )}
      </td>
      <td data-label="Last written">
        {formatTime(thread.updatedAt)}
        {thread.busy ? <span className="badge answering"> answering</span> : null}
      </td>
    </tr>
  );
}

export function ThreadsPage() {
  const session = useSession();
  const route = useRoute();
  const agentId = route.query.get("agent") ?? "";
  const [agents] = useQuery({ query: ThreadAgentsQuery });
  const [creating, setCreating] = useState(false);
  const pages = useCursorPages(agentId);
  const [result, reread] = useQuery({
    query: ThreadsQuery,
    variables: { agentId: agentId || null, first: PAGE_SIZE, after: pages.after },
    // A thread deleted on its page (which returns only an id) is gone when coming back.
    requestPolicy: "cache-and-network",
  });
  const connection = result.data?.threads;
  const rows: Row[] = connection?.edges.map((edge) => edge.node) ?? [];
  const list = (agents.data?.agents.edges ?? []).map((edge) => edge.node);
  const agent = list.find((a) => a.id === agentId);
  const whose = agentId ? `with ${agent?.name ?? agentId}` : session.user?.role === "ADMIN" ? "of every user" : "with all your agents";
  const canTalk = session.can("thread.use");

  // A page emptied by deletions elsewhere: back to the first.
  useEffect(() => {
    if (connection && rows.length === 0 && pages.page > 0) pages.reset();
  }, [connection]);

  return (
    <Page
      title="Threads"
      actions={
        <>
          {canTalk ? (
            <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
              New thread
            </button>
          ) : null}
          <button type="button" onClick={() => reread({ requestPolicy: "network-only" })}>
            Refresh<span className="visually-hidden"> the threads</span>
          </button>
        </>
      }
    >
      <p className="muted">
        A thread is a conversation with one of your agents, kept: the agent answers each message knowing the whole thread, and
        you can come back to it later, here or with <code>kai chat</code>.
      </p>
      {creating ? (
        <ThreadForm
          agents={list}
          agentId={agentId}
          loading={agents.fetching && !agents.data}
          onDone={(made) => {
            setCreating(false);
            if (made) navigate(threadPath(made));
          }}
        />
      ) : null}
      <ErrorMessage error={agents.error} />
      <form className="filters" role="search" aria-label="Filter threads" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="With agent"
          value={agentId}
          onChange={(e) => navigate(e.target.value ? `/threads?agent=${encodeURIComponent(e.target.value)}` : "/threads", { replace: true })}
        >
          <option value="">All agents</option>
          {agentId && !agent ? <option value={agentId}>{agentId}</option> : null}
          {list.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </SelectField>
      </form>
      <ErrorMessage error={result.error} />
      {result.fetching && !result.data ? <Loading what="threads" /> : null}
      {connection ? (
        <>
          <p role="status" className="muted">
            {countOf(connection.totalCount, "thread")} {whose}
          </p>
          {rows.length ? (
            <div className="table-wrap" aria-busy={result.fetching || undefined}>
              <table className="responsive">
                <caption className="visually-hidden">Threads {whose}, most recent first</caption>
                <thead>
                  <tr>
                    <th scope="col">Thread</th>
                    <th scope="col">Agent</th>
                    <th scope="col">Newest message</th>
                    <th scope="col" aria-sort="descending">Last written</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((thread) => (
                    <ThreadRow key={thread.id} thread={thread} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>
              {connection.totalCount
                ? "No threads on this page."
                : agentId
                  ? "You have no threads with this agent yet: start one with New thread."
                  : "You have no threads yet: start one with New thread."}
            </p>
          )}
          <CursorPager
            page={pages.page}
            hasNextPage={connection.pageInfo.hasNextPage}
            onNext={() => pages.next(connection.pageInfo.endCursor)}
            onPrevious={pages.previous}
            label={`threads ${whose}`}
            total={connection.totalCount}
            pageSize={PAGE_SIZE}
            shown={rows.length}
          />
        </>
      ) : null}
    </Page>
  );
}
