/**
 * Background tasks: choose an agent and queue a task for it with its options; follow the
 * tasks queued from this tab live; and list the tasks of all your agents (`tasks`, filtered
 * by agent and state and sorted by the server, a page at a time with the list's totalCount),
 * each followed live (taskUpdates: a progress bar per task, its state in words) and
 * cancelled, after a question, while it has not finished.
 */
import { useEffect, useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "urql";

import { graphql } from "../../gql";
import type { OrderDirection, TaskOrderField, TaskState } from "../../gql/graphql";
import { ErrorMessage } from "../errors";
import { Link, navigate, useRoute } from "../router";
import { useSession } from "../session";
import { Field, JsonEditor, Loading, Page, SelectField, countOf, parseJson, type JsonParse } from "../ui";
import { CursorPager, useCursorPages } from "./CursorPager";
import "./pages.css";
import { forgetTasks, rememberTask, updateTask, useSessionTasks } from "./sessionTasks";
import { TaskList, type Task } from "./TaskCard";
import { TASK_STATE_WORDS } from "./words";

graphql(`
  fragment TasksPageAgent on Agent {
    id
    name
    type
    state
    configuration
  }
`);

// The agents to choose from, by name (an account with more than MAX_PAGE agents reaches the
// others from their own page's link, ?agent=, read on its own below).
const AgentsQuery = graphql(`
  query TasksPageAgents {
    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          ...TasksPageAgent
        }
      }
    }
    agentTypes {
      name
      taskTypes
    }
  }
`);

const AgentQuery = graphql(`
  query TasksPageAgent($id: ID!) {
    agent(id: $id) {
      ...TasksPageAgent
    }
  }
`);

const TasksQuery = graphql(`
  query TasksPageTasks($filter: TaskFilter, $orderBy: TaskOrder, $first: Int, $after: String) {
    tasks(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
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
`);

const EnqueueMutation = graphql(`
  mutation TasksPageEnqueue($agentId: ID!, $input: TaskInput!, $idempotencyKey: String) {
    enqueueTask(agentId: $agentId, input: $input, idempotencyKey: $idempotencyKey) {
      ...TasksPageTask
    }
  }
`);

type Agent = { id: string; name: string; type: string; state: string; configuration: unknown };

const PAGE_SIZE = 20;
const STATES: readonly TaskState[] = ["AWAITING_APPROVAL", "PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"];
const AGENT_STATE_WORDS: Record<string, string> = {
  STARTING: "starting",
  RUNNING: "running",
  STOPPED: "stopped",
  ERROR: "failed to start",
};
/** The orders offered, as "FIELD DIRECTION"; the first is the server's own default. */
const ORDERS: readonly { value: `${TaskOrderField} ${OrderDirection}`; words: string }[] = [
  { value: "CREATED_AT DESC", words: "Newest first" },
  { value: "CREATED_AT ASC", words: "Oldest first" },
  { value: "PRIORITY DESC", words: "Highest priority first" },
  { value: "PRIORITY ASC", words: "Lowest priority first" },
];

/** Task types the agent takes: its type's, or (remote) its configuration's taskTypes. */
export function taskTypesOf(agent: Agent | undefined, types: readonly { name: string; taskTypes: readonly string[] }[]): string[] {
  if (!agent) return [];
  const own = types.find((type) => type.name === agent.type)?.taskTypes ?? [];
  if (own.length > 0) return [...own];
  const configured = (agent.configuration as { taskTypes?: unknown } | null)?.taskTypes;
  return Array.isArray(configured) ? configured.filter((t): t is string => typeof t === "string") : [];
}

/** A payload to start from, by task type (README: echo takes {steps, stepSeconds}). */
export function examplePayload(type: string): string {
  if (type === "echo") return '{"steps": 10, "stepSeconds": 0.5}';
  if (type === "prompt") return '{"prompt": "Summarise the last report."}';
  return "null";
}

export function TasksPage() {
  const session = useSession();
  const route = useRoute();
  const agentId = route.query.get("agent") ?? "";
  const [{ data, fetching, error }] = useQuery({ query: AgentsQuery });
  const listed = (data?.agents.edges ?? []).map((edge) => edge.node);
  // An agent named by the address that is not among those listed is read on its own.
  const unlisted = Boolean(agentId && data && !listed.some((a) => a.id === agentId));
  const [single] = useQuery({ query: AgentQuery, variables: { id: agentId }, pause: !unlisted });
  const extra = unlisted ? single.data?.agent : null;
  const pendingSingle = unlisted && (single.fetching || !single.data);
  const agents = extra ? [...listed, extra] : listed;
  const agent = agents.find((a) => a.id === agentId);
  // The list shows the tasks of the agent the page was opened for (its page links here),
  // else of every agent; its own filter changes that.
  const [listAgent, setListAgent] = useState(agentId);

  // No agent chosen yet: the first one.
  useEffect(() => {
    const first = agents[0];
    if (!agentId && first) navigate(`/tasks?agent=${encodeURIComponent(first.id)}`, { replace: true });
  }, [agentId, agents]);

  const [listVersion, setListVersion] = useState(0);

  return (
    <Page title="Tasks">
      <ErrorMessage error={error} />
      {fetching && !data ? <Loading what="agents" /> : null}
      {data && agents.length === 0 && !pendingSingle ? (
        <p>
          You have no agents yet, and tasks run on agents. <Link to="/agents">Create an agent</Link> first.
        </p>
      ) : null}
      {agents.length > 0 ? (
        <SelectField
          label="Agent"
          hint="The agent that runs the tasks you queue here."
          value={agent ? agent.id : ""}
          onChange={(event) => navigate(`/tasks?agent=${encodeURIComponent(event.target.value)}`, { replace: true })}
        >
          {agent ? null : <option value="">Choose an agent</option>}
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} ({a.type}, {AGENT_STATE_WORDS[a.state] ?? a.state})
            </option>
          ))}
        </SelectField>
      ) : null}
      {agentId && data && !agent && !pendingSingle ? <p role="alert">No agent of yours has the id {agentId}.</p> : null}
      {agent && data ? (
        <EnqueueForm
          key={`form-${agent.id}`}
          agent={agent}
          taskTypes={taskTypesOf(agent, data.agentTypes)}
          onQueued={(task) => {
            if (session.user) rememberTask(session.user.id, task);
            setListVersion((v) => v + 1);
          }}
        />
      ) : null}
      <SessionTasks userId={session.user?.id ?? null} />
      {data && agents.length > 0 ? (
        <AllTasks agents={agents} agentId={agents.some((a) => a.id === listAgent) ? listAgent : ""} onAgent={setListAgent} version={listVersion} />
      ) : null}
    </Page>
  );
}

/* ------------------------------------------------------------------ queueing */

type Form = {
  type: string;
  payload: string;
  priority: string;
  delaySeconds: string;
  retries: string;
  timeoutSeconds: string;
  idempotencyKey: string;
};

type Checked = { errors: Partial<Record<keyof Form, string>>; input: null | { type: string; payload: unknown; priority: number; delaySeconds: number; retries: number; timeoutSeconds: number | null } };

export function numberIn(text: string, min: number, max: number, integer: boolean): number | string {
  if (text.trim() === "") return "Enter a number.";
  const value = Number(text);
  if (!Number.isFinite(value)) return "Enter a number.";
  if (integer && !Number.isInteger(value)) return "Enter a whole number.";
  if (value < min || value > max) return `Enter a number from ${min} to ${max}.`;
  return value;
}

/** The form's values checked as the server checks them (TaskInput's ranges). */
function check(form: Form, payload: JsonParse): Checked {
  const errors: Checked["errors"] = {};
  if (form.type.trim() === "") errors.type = "Choose a task type.";
  if (!payload.ok) errors.payload = payload.error;
  const priority = numberIn(form.priority, -1000, 1000, true);
  if (typeof priority === "string") errors.priority = priority;
  const delaySeconds = numberIn(form.delaySeconds, 0, 7 * 24 * 3600, false);
  if (typeof delaySeconds === "string") errors.delaySeconds = delaySeconds;
  const retries = numberIn(form.retries, 0, 20, true);
  if (typeof retries === "string") errors.retries = retries;
  let timeoutSeconds: number | string | null = null;
  if (form.timeoutSeconds.trim() !== "") {
    timeoutSeconds = numberIn(form.timeoutSeconds, 0, 24 * 3600, false);
    if (timeoutSeconds === 0) timeoutSeconds = "Enter more than 0 seconds, or leave it empty.";
    if (typeof timeoutSeconds === "string") errors.timeoutSeconds = timeoutSeconds;
  }
  if (form.idempotencyKey.length > 200) errors.idempotencyKey = "At most 200 characters.";
  if (Object.keys(errors).length > 0 || !payload.ok) return { errors, input: null };
  return {
    errors,
    input: {
      type: form.type.trim(),
      payload: payload.value,
      priority: priority as number,
      delaySeconds: delaySeconds as number,
      retries: retries as number,
      timeoutSeconds: timeoutSeconds as number | null,
    },
  };
}

function EnqueueForm({ agent, taskTypes, onQueued }: { agent: Agent; taskTypes: string[]; onQueued: (task: Task) => void }) {
  const firstType = taskTypes[0] ?? "";
  const [form, setForm] = useState<Form>({
    type: firstType,
    payload: examplePayload(firstType),
    priority: "0",
    delaySeconds: "0",
    retries: "0",
    timeoutSeconds: "",
    idempotencyKey: "",
  });
  const [submitted, setSubmitted] = useState(false);
  const [queued, setQueued] = useState<Task | null>(null);
  const [result, enqueue] = useMutation(EnqueueMutation);
  const payload = parseJson(form.payload);
  const checked = check(form, payload);
  const shown = submitted ? checked.errors : {};
  const set = (name: keyof Form) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });
  const headingId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    setQueued(null);
    if (!checked.input) return;
    const answer = await enqueue({
      agentId: agent.id,
      input: checked.input,
      idempotencyKey: form.idempotencyKey.trim() || null,
    });
    const task = answer.data?.enqueueTask;
    if (task) {
      setQueued(task);
      setSubmitted(false);
      onQueued(task);
    }
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Queue a task for {agent.name}</h2>
      {agent.state !== "RUNNING" ? (
        <p className="hint">
          {agent.name} is {AGENT_STATE_WORDS[agent.state] ?? agent.state}: its tasks wait until it is running.
        </p>
      ) : null}
      <form onSubmit={(event) => void submit(event)} noValidate>
        {taskTypes.length > 0 ? (
          <SelectField
            label="Task type"
            value={form.type}
            error={shown.type}
            onChange={(event) => setForm({ ...form, type: event.target.value, payload: examplePayload(event.target.value) })}
          >
            {taskTypes.map((type) => (
              <option key={type} value={type}>
                {type}
              </option>
            ))}
          </SelectField>
        ) : (
          <Field
            label="Task type"
            hint="This agent names no task types: enter one its process handles."
            value={form.type}
            error={shown.type}
            onChange={set("type")}
            required
          />
        )}
        <JsonEditor
          label="Payload (JSON)"
          hint={
            form.type === "echo"
              ? "Given to the handler. echo: steps (how many progress reports) and stepSeconds (the pause before each)."
              : "Given to the handler; null for none."
          }
          value={form.payload}
          rows={3}
          onChange={(text) => setForm({ ...form, payload: text })}
        />
        <div className="field-row">
          <Field
            label="Priority"
            type="number"
            inputMode="numeric"
            min={-1000}
            max={1000}
            step={1}
            hint="-1000 to 1000; higher runs first when workers are busy."
            value={form.priority}
            error={shown.priority}
            onChange={set("priority")}
          />
          <Field
            label="Delay (seconds)"
            type="number"
            inputMode="decimal"
            min={0}
            max={604800}
            step="any"
            hint="Not started before this; up to 7 days."
            value={form.delaySeconds}
            error={shown.delaySeconds}
            onChange={set("delaySeconds")}
          />
          <Field
            label="Retries"
            type="number"
            inputMode="numeric"
            min={0}
            max={20}
            step={1}
            hint="Further attempts after a failed one (0 to 20), with growing pauses."
            value={form.retries}
            error={shown.retries}
            onChange={set("retries")}
          />
          <Field
            label="Timeout (seconds)"
            type="number"
            inputMode="decimal"
            min={0}
            max={86400}
            step="any"
            hint="An attempt running longer fails with “timeout”. Empty: the server's default (an hour)."
            value={form.timeoutSeconds}
            error={shown.timeoutSeconds}
            onChange={set("timeoutSeconds")}
          />
        </div>
        <Field
          label="Idempotency key (optional)"
          hint="Sent again with the same key, the form returns the task first queued with it instead of queueing another."
          maxLength={200}
          value={form.idempotencyKey}
          error={shown.idempotencyKey}
          onChange={set("idempotencyKey")}
        />
        {submitted && !checked.input ? <p role="alert" className="field-error">Correct the values marked above.</p> : null}
        <ErrorMessage error={result.error} />
        <button type="submit" className="primary" disabled={result.fetching}>
          {result.fetching ? "Queueing…" : "Queue task"}
        </button>
        <p role="status" className="status">
          {queued
            ? queued.state === "AWAITING_APPROVAL"
              ? `Queued ${queued.type} task ${queued.id}: it waits for a person to approve it (see it below).`
              : `Queued ${queued.type} task ${queued.id}.`
            : ""}
        </p>
      </form>
    </section>
  );
}

/* ------------------------------------------------------------------ lists */

function SessionTasks({ userId }: { userId: string | null }) {
  const tasks = useSessionTasks(userId);
  const headingId = useId();
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Queued from this tab</h2>
      {tasks.length === 0 ? (
        <p className="muted">None yet. Tasks you queue here are followed below, whichever agent runs them.</p>
      ) : (
        <>
          <TaskList tasks={tasks} label="tasks queued from this tab" onUpdate={userId ? (task) => updateTask(userId, task) : undefined} />
          {userId ? (
            <p>
              <button type="button" onClick={() => forgetTasks(userId)}>
                Clear this list<span className="visually-hidden"> of tasks queued from this tab</span>
              </button>
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

/** The tasks of one agent or all, a page at a time: each card follows its task live, so a
 * page (PAGE_SIZE) rather than an ever longer list keeps within the server's subscriptions
 * per socket. */
function AllTasks({ agents, agentId, onAgent, version }: { agents: readonly Agent[]; agentId: string; onAgent: (id: string) => void; version: number }) {
  const [state, setState] = useState<TaskState | "">("");
  const [order, setOrder] = useState<(typeof ORDERS)[number]["value"]>("CREATED_AT DESC");
  const agent = agents.find((a) => a.id === agentId);
  const filter = agentId || state ? { agentId: agentId || null, states: state ? [state] : null } : null;
  const [field, direction] = order.split(" ") as [TaskOrderField, OrderDirection];
  const pages = useCursorPages({ filter, order });
  const headingId = useId();
  const [{ data, fetching, error }, refetch] = useQuery({
    query: TasksQuery,
    variables: { filter, orderBy: { field, direction }, first: PAGE_SIZE, after: pages.after },
  });
  const connection = data?.tasks;
  const tasks = connection?.edges.map((edge) => edge.node) ?? [];
  const whose = agent ? `of ${agent.name}` : "of all your agents";

  useEffect(() => {
    if (version > 0) refetch({ requestPolicy: "network-only" });
  }, [version, refetch]);

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Tasks {whose}</h2>
      <form className="toolbar" role="search" aria-label="Filter tasks" onSubmit={(event) => event.preventDefault()}>
        <SelectField label="Of agent" value={agentId} onChange={(event) => onAgent(event.target.value)}>
          <option value="">All agents</option>
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </SelectField>
        <SelectField label="Show" value={state} onChange={(event) => setState(event.target.value as TaskState | "")}>
          <option value="">All tasks</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {TASK_STATE_WORDS[s]}
            </option>
          ))}
        </SelectField>
        <SelectField label="Order" value={order} onChange={(event) => setOrder(event.target.value as typeof order)}>
          {ORDERS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.words}
            </option>
          ))}
        </SelectField>
        <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })} disabled={fetching}>
          Refresh<span className="visually-hidden"> the tasks {whose}</span>
        </button>
      </form>
      <ErrorMessage error={error} />
      {fetching && !data ? <Loading what="tasks" /> : null}
      {connection ? (
        <p role="status" className="muted">
          {state ? `${countOf(connection.totalCount, "task")} ${TASK_STATE_WORDS[state].toLowerCase()}` : `${countOf(connection.totalCount, "task")} in all`}
        </p>
      ) : null}
      {connection && tasks.length === 0 ? (
        <p className="muted">
          {state ? `No task ${whose} is ${TASK_STATE_WORDS[state].toLowerCase()}.` : agent ? `${agent.name} has no tasks yet.` : "Your agents have no tasks yet."}
        </p>
      ) : null}
      {tasks.length > 0 ? <TaskList tasks={tasks} label={`tasks ${whose}`} /> : null}
      {connection ? (
        <CursorPager
          page={pages.page}
          hasNextPage={connection.pageInfo.hasNextPage}
          onNext={() => pages.next(connection.pageInfo.endCursor)}
          onPrevious={pages.previous}
          label={`tasks ${whose}`}
          byPage={order !== "CREATED_AT DESC"}
          total={connection.totalCount}
          pageSize={PAGE_SIZE}
          shown={tasks.length}
        />
      ) : null}
    </section>
  );
}
