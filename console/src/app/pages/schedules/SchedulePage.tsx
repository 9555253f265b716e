/**
 * One schedule: its timetable in its time zone, next and last run, the task each run queues,
 * and its history (Schedule.tasks, newest first, a page at a time, each task's card followed
 * live as on the Tasks page); pause and resume, run now, edit, and delete after a question.
 */
import { useId, useState } from "react";
import { useMutation, useQuery, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { ConfirmButton, Loading, Page, countOf, formatTime } from "../../ui";
import { CursorPager, useCursorPages } from "../CursorPager";
import { Fact, Facts } from "../Facts";
import { TaskList } from "../TaskCard";
import { showJson } from "../words";
import { DeleteScheduleMutation, RunScheduleNowMutation, UpdateScheduleMutation, type Schedule } from "./documents";
import { ScheduleForm } from "./ScheduleForm";
import { ActiveBadge } from "./SchedulesPage";
import "./schedules.css";
import { formatIn, lastRunWords, nextRunWords } from "./timetable";

const HISTORY_PAGE = 10;

const ScheduleQuery = graphql(`
  query SchedulePageSchedule($id: ID!, $first: Int, $after: String) {
    schedule(id: $id) {
      ...SchedulesPageSchedule
      tasks(first: $first, after: $after) {
        edges {
          cursor
          node {
            ...TasksPageTask
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

/** 30 → "30 seconds", 3600 → "3600 seconds"; null → the server's default. */
function timeoutWords(seconds: number | null | undefined): string {
  return seconds == null ? "the server's default" : `${seconds} second${seconds === 1 ? "" : "s"}`;
}

function Actions({ schedule, onChanged }: { schedule: Schedule; onChanged: (notice: string) => void }) {
  const [paused, pause] = useMutation(UpdateScheduleMutation);
  const [ran, runNow] = useMutation(RunScheduleNowMutation);
  const [, remove] = useMutation(DeleteScheduleMutation);
  const [removeError, setRemoveError] = useState<CombinedError | null>(null);
  const [editing, setEditing] = useState(false);
  const toggle = async () => {
    const result = await pause({ id: schedule.id, input: { active: !schedule.active } });
    const saved = result.data?.updateSchedule;
    if (saved) onChanged(saved.active ? `Resumed: next run ${nextRunWords(saved)}.` : "Paused: nothing runs until it is resumed.");
  };
  const run = async () => {
    const result = await runNow({ id: schedule.id });
    const task = result.data?.runScheduleNow;
    if (task) onChanged(`Started ${task.type} task ${task.id}.`);
  };
  return (
    <>
      <div className="actions">
        <button type="button" onClick={() => void toggle()} disabled={paused.fetching}>
          {schedule.active ? "Pause" : "Resume"}
        </button>
        <button type="button" onClick={() => void run()} disabled={ran.fetching}>
          Run now
        </button>
        <button type="button" onClick={() => setEditing(true)} disabled={editing}>
          Edit
        </button>
        <ConfirmButton
          danger
          aria-label={`Delete schedule ${schedule.name}`}
          question={`Delete schedule ${schedule.name}? It starts no more tasks; those it started keep running.`}
          onConfirm={async () => {
            const result = await remove({ id: schedule.id });
            setRemoveError(result.error ?? null);
            if (!result.error) navigate("/schedules");
          }}
        >
          Delete
        </ConfirmButton>
      </div>
      <ErrorMessage error={paused.error ?? ran.error ?? removeError} />
      {editing ? (
        <ScheduleForm
          schedule={schedule}
          onDone={(saved) => {
            setEditing(false);
            if (saved) onChanged(`Saved schedule ${saved.name}.`);
          }}
        />
      ) : null}
    </>
  );
}

function About({ schedule }: { schedule: Schedule }) {
  return (
    <Facts>
      <Fact term="State">
        <ActiveBadge active={schedule.active} />
      </Fact>
      <Fact term="Agent">
        <Link to={`/agents/${encodeURIComponent(schedule.agent.id)}`}>{schedule.agent.name}</Link> ({schedule.agent.type})
      </Fact>
      {schedule.cron ? (
        <Fact term="Timetable (cron)">
          <code>{schedule.cron}</code>
        </Fact>
      ) : (
        <Fact term="Runs once at">{schedule.runAt ? formatIn(schedule.runAt, schedule.timezone) : "no time"}</Fact>
      )}
      <Fact term="Time zone">{schedule.timezone}</Fact>
      <Fact term="Next run">{nextRunWords(schedule)}</Fact>
      <Fact term="Last run">{lastRunWords(schedule)}</Fact>
      <Fact term="Created">{formatTime(schedule.createdAt)}</Fact>
      <Fact term="Id">
        <code>{schedule.id}</code>
      </Fact>
    </Facts>
  );
}

function Template({ schedule }: { schedule: Schedule }) {
  const headingId = useId();
  const task = schedule.task;
  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>The task each run queues</h2>
      <Facts>
        <Fact term="Type">{task.type}</Fact>
        <Fact term="Priority">{task.priority}</Fact>
        <Fact term="Retries">{task.retries}</Fact>
        <Fact term="Timeout">{timeoutWords(task.timeoutSeconds)}</Fact>
      </Facts>
      <h3>Payload</h3>
      <pre className="code">{showJson(task.payload ?? null)}</pre>
    </section>
  );
}

export function SchedulePage() {
  const { params } = useRoute();
  const id = params.id ?? "";
  const session = useSession();
  const pages = useCursorPages(id);
  const [result, reread] = useQuery({
    query: ScheduleQuery,
    variables: { id, first: HISTORY_PAGE, after: pages.after },
    requestPolicy: "cache-and-network",
  });
  const [notice, setNotice] = useState<string | null>(null);
  const historyId = useId();
  const aboutId = useId();

  const schedule = result.data?.schedule;
  if (result.fetching && !result.data) {
    return (
      <Page title="Schedule">
        <Loading what="the schedule" />
      </Page>
    );
  }
  if (!schedule) {
    return (
      <Page title="Schedule not found">
        <ErrorMessage error={result.error} />
        <p>
          There is no schedule <code>{id}</code> that you may see. Back to <Link to="/schedules">your schedules</Link>.
        </p>
      </Page>
    );
  }
  const history = schedule.tasks;
  const tasks = history.edges.map((edge) => edge.node);
  return (
    <Page title={`Schedule ${schedule.name}`}>
      <p>
        <Link to="/schedules">← All schedules</Link>
      </p>
      <section aria-labelledby={aboutId} className="card">
        <h2 id={aboutId}>When it runs</h2>
        <About schedule={schedule} />
        <p role="status" className="status">
          {notice ?? ""}
        </p>
        {session.can("schedule.manage") ? (
          <Actions
            schedule={schedule}
            onChanged={(words) => {
              setNotice(words);
              pages.reset();
              reread({ requestPolicy: "network-only" });
            }}
          />
        ) : null}
      </section>
      <Template schedule={schedule} />
      <section aria-labelledby={historyId}>
        <h2 id={historyId}>History</h2>
        <p className="muted">
          {history.totalCount ? `${countOf(history.totalCount, "task")} started by this schedule, newest first.` : "It has started no task yet."}{" "}
          <Link to={`/tasks?agent=${encodeURIComponent(schedule.agent.id)}`}>All tasks of {schedule.agent.name}</Link>
        </p>
        <ErrorMessage error={result.error} />
        {tasks.length ? <TaskList tasks={tasks} label={`tasks started by schedule ${schedule.name}`} /> : null}
        <CursorPager
          page={pages.page}
          hasNextPage={history.pageInfo.hasNextPage}
          onNext={() => pages.next(history.pageInfo.endCursor)}
          onPrevious={pages.previous}
          label={`tasks started by schedule ${schedule.name}`}
          total={history.totalCount}
          pageSize={HISTORY_PAGE}
          shown={tasks.length}
        />
      </section>
    </Page>
  );
}
