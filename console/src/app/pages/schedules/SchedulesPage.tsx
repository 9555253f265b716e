/**
 * The schedules of your agents (every one for ADMIN), newest first as the server lists them,
 * a page at a time through the connection's cursors with the list's totalCount, of one agent
 * or all: each with its timetable, next and last run in its own time zone, and whether it is
 * active. "New schedule" opens the form; a schedule's name leads to its page.
 */
import { useEffect, useState } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { Loading, Page, SelectField, countOf } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import { ScheduleAgentsQuery, type Schedule } from "./documents";
import { ScheduleForm } from "./ScheduleForm";
import "./schedules.css";
import { lastRunWords, nextRunWords, timetableWords } from "./timetable";

const PAGE_SIZE = 20;

const SchedulesQuery = graphql(`
  query SchedulesPageSchedules($agentId: ID, $first: Int, $after: String) {
    schedules(agentId: $agentId, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...SchedulesPageSchedule
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

export function ActiveBadge({ active }: { active: boolean }) {
  return <span className={`badge ${active ? "active" : "paused"}`}>{active ? "Active" : "Paused"}</span>;
}

function Row({ schedule }: { schedule: Schedule }) {
  return (
    <tr>
      <th scope="row" data-label="Name">
        <Link to={`/schedules/${encodeURIComponent(schedule.id)}`}>{schedule.name}</Link>
      </th>
      <td data-label="Agent">
        <Link to={`/agents/${encodeURIComponent(schedule.agent.id)}`}>{schedule.agent.name}</Link>
      </td>
      <td data-label="When" className="timetable">
        {schedule.cron ? (
          <>
            <code>{schedule.cron}</code> in {schedule.timezone}
          </>
        ) : (
          timetableWords(schedule)
        )}
      </td>
      <td data-label="Next run">{nextRunWords(schedule)}</td>
      <td data-label="Last run">{lastRunWords(schedule)}</td>
      <td data-label="Active">
        <ActiveBadge active={schedule.active} />
      </td>
    </tr>
  );
}

export function SchedulesPage() {
  const session = useSession();
  const route = useRoute();
  const agentId = route.query.get("agent") ?? "";
  const [agents] = useQuery({ query: ScheduleAgentsQuery });
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const pages = useCursorPages(agentId);
  const [result, reread] = useQuery({
    query: SchedulesQuery,
    variables: { agentId: agentId || null, first: PAGE_SIZE, after: pages.after },
    // Changes made on a schedule's page (a delete returns only an id) show when coming back.
    requestPolicy: "cache-and-network",
  });
  const connection = result.data?.schedules;
  const rows = connection?.edges.map((edge) => edge.node) ?? [];
  const list = (agents.data?.agents.edges ?? []).map((edge) => edge.node);
  const agent = list.find((a) => a.id === agentId);
  const whose = agentId ? `of ${agent?.name ?? agentId}` : "of all your agents";
  const refresh = () => reread({ requestPolicy: "network-only" });
  const canManage = session.can("schedule.manage");

  // A page emptied by deletions elsewhere: back to the first.
  useEffect(() => {
    if (connection && rows.length === 0 && pages.page > 0) pages.reset();
  }, [connection]);

  return (
    <Page
      title="Schedules"
      actions={
        <>
          {canManage ? (
            <button type="button" className="primary" onClick={() => setCreating(true)} disabled={creating}>
              New schedule
            </button>
          ) : null}
          <button type="button" onClick={refresh}>
            Refresh<span className="visually-hidden"> the schedules</span>
          </button>
        </>
      }
    >
      <p className="muted">Schedules queue a task on an agent by a cron timetable, or once at a time you choose.</p>
      {notice ? (
        <p className="success" role="status">
          {notice}
        </p>
      ) : null}
      {creating ? (
        <ScheduleForm
          agentId={agentId}
          onDone={(saved) => {
            setCreating(false);
            if (!saved) return;
            setNotice(`Schedule ${saved.name} created.`);
            // A new schedule leads the first page (newest first).
            pages.reset();
            refresh();
          }}
        />
      ) : null}
      <form className="filters" role="search" aria-label="Filter schedules" onSubmit={(e) => e.preventDefault()}>
        <SelectField
          label="Of agent"
          value={agentId}
          onChange={(e) => navigate(e.target.value ? `/schedules?agent=${encodeURIComponent(e.target.value)}` : "/schedules", { replace: true })}
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
      {result.fetching && !result.data ? <Loading what="schedules" /> : null}
      {connection ? (
        <>
          <p role="status" className="muted">
            {countOf(connection.totalCount, "schedule")} {whose}
          </p>
          {rows.length ? (
            <div className="table-wrap" aria-busy={result.fetching || undefined}>
              <table className="responsive">
                <caption className="visually-hidden">Schedules {whose}, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Agent</th>
                    <th scope="col">When</th>
                    <th scope="col">Next run</th>
                    <th scope="col">Last run</th>
                    <th scope="col">Active</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((schedule) => (
                    <Row key={schedule.id} schedule={schedule} />
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p>{connection.totalCount ? "No schedules on this page." : agentId ? "This agent has no schedules yet." : "You have no schedules yet: create one with New schedule."}</p>
          )}
          <CursorPager
            page={pages.page}
            hasNextPage={connection.pageInfo.hasNextPage}
            onNext={() => pages.next(connection.pageInfo.endCursor)}
            onPrevious={pages.previous}
            label={`schedules ${whose}`}
            total={connection.totalCount}
            pageSize={PAGE_SIZE}
            shown={rows.length}
          />
        </>
      ) : null}
    </Page>
  );
}
