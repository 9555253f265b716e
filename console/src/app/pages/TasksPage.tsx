/**
 * Background tasks: choose an agent, queue a task for it with its options, and follow the
 * agent's tasks and the ones queued from this tab live (taskUpdates: a progress bar per task,
 * its state in words), cancelling any that has not finished.
 */
import { useEffect, useId, useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery, useSubscription } from "urql";

import { graphql } from "../../gql";
import type { TaskState, TasksPageTaskFragment } from "../../gql/graphql";
import { ErrorMessage } from "../errors";
import { Link, navigate, useRoute } from "../router";
import { useSession } from "../session";
import { ConfirmButton, Field, JsonEditor, Loading, Page, SelectField, formatTime, parseJson, type JsonParse } from "../ui";
import { CursorPager, useCursorPages } from "./CursorPager";
import { Fact, Facts } from "./Facts";
import "./pages.css";
import { forgetTasks, rememberTask, updateTask, useSessionTasks } from "./sessionTasks";
import { TASK_STATE_WORDS, TERMINAL_STATES, formatProgress, showJson } from "./words";

graphql(`
  fragment TasksPageTask on Task {
    id
    type
    state
    payload
    progress
    result
    error
    attempts
    priority
    createdAt
    startedAt
    completedAt
    agent {
      id
      name
    }
  }
`);

const AgentsQuery = graphql(`
  query TasksPageAgents {
    agents {
      id
      name
      type
      state
      configuration
    }
    agentTypes {
      name
      taskTypes
    }
  }
`);

const AgentTasksQuery = graphql(`
  query TasksPageAgentTasks($agentId: ID!, $state: TaskState, $first: Int, $after: String) {
    agent(id: $agentId) {
      id
      tasks(state: $state, first: $first, after: $after) {
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
      }
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

const CancelMutation = graphql(`
  mutation TasksPageCancel($id: ID!) {
    cancelTask(id: $id) {
      ...TasksPageTask
    }
  }
`);

const TaskUpdatesSubscription = graphql(`
  subscription TasksPageTaskUpdates($taskId: ID!) {
    taskUpdates(taskId: $taskId) {
      ...TasksPageTask
    }
  }
`);

type Task = TasksPageTaskFragment;
type Agent = { id: string; name: string; type: string; state: string; configuration: unknown };

const PAGE_SIZE = 20;
const STATES: readonly TaskState[] = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"];
const AGENT_STATE_WORDS: Record<string, string> = {
  STARTING: "starting",
  RUNNING: "running",
  STOPPED: "stopped",
  ERROR: "failed to start",
};

/** Task types the agent takes: its type's, or (remote) its configuration's taskTypes. */
function taskTypesOf(agent: Agent | undefined, types: readonly { name: string; taskTypes: readonly string[] }[]): string[] {
  if (!agent) return [];
  const own = types.find((type) => type.name === agent.type)?.taskTypes ?? [];
  if (own.length > 0) return [...own];
  const configured = (agent.configuration as { taskTypes?: unknown } | null)?.taskTypes;
  return Array.isArray(configured) ? configured.filter((t): t is string => typeof t === "string") : [];
}

/** A payload to start from, by task type (README: echo takes {steps, stepSeconds}). */
function examplePayload(type: string): string {
  if (type === "echo") return '{"steps": 10, "stepSeconds": 0.5}';
  if (type === "prompt") return '{"prompt": "Summarise the last report."}';
  return "null";
}

export function TasksPage() {
  const session = useSession();
  const route = useRoute();
  const agentId = route.query.get("agent") ?? "";
  const [{ data, fetching, error }] = useQuery({ query: AgentsQuery });
  const agents = data?.agents ?? [];
  const agent = agents.find((a) => a.id === agentId);

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
      {data && agents.length === 0 ? (
        <p>
          You have no agents yet, and tasks run on agents. <Link to="/agents">Create an agent</Link> first.
        </p>
      ) : null}
      {agents.length > 0 ? (
        <SelectField
          label="Agent"
          hint="The agent whose tasks are listed, and that runs the tasks you queue here."
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
      {agentId && data && !agent ? <p role="alert">No agent of yours has the id {agentId}.</p> : null}
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
      {agent ? <AgentTasks key={`tasks-${agent.id}`} agent={agent} version={listVersion} /> : null}
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

function numberIn(text: string, min: number, max: number, integer: boolean): number | string {
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
          {queued ? `Queued ${queued.type} task ${queued.id}.` : ""}
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

function AgentTasks({ agent, version }: { agent: Agent; version: number }) {
  const [state, setState] = useState<TaskState | "">("");
  const pages = useCursorPages();
  const headingId = useId();
  const variables = useMemo(
    () => ({ agentId: agent.id, state: state || null, first: PAGE_SIZE, after: pages.after }),
    [agent.id, state, pages.after],
  );
  const [{ data, fetching, error }, refetch] = useQuery({ query: AgentTasksQuery, variables });
  const connection = data?.agent?.tasks;

  useEffect(() => {
    if (version > 0) refetch({ requestPolicy: "network-only" });
  }, [version, refetch]);

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Tasks of {agent.name}</h2>
      <div className="toolbar">
        <SelectField
          label="Show"
          value={state}
          onChange={(event) => {
            setState(event.target.value as TaskState | "");
            pages.reset();
          }}
        >
          <option value="">All tasks</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {TASK_STATE_WORDS[s]}
            </option>
          ))}
        </SelectField>
        <button type="button" onClick={() => refetch({ requestPolicy: "network-only" })} disabled={fetching}>
          Refresh<span className="visually-hidden"> the tasks of {agent.name}</span>
        </button>
      </div>
      <ErrorMessage error={error} />
      {fetching && !data ? <Loading what="tasks" /> : null}
      {connection && connection.edges.length === 0 ? (
        <p className="muted">{state ? `No task of ${agent.name} is ${TASK_STATE_WORDS[state].toLowerCase()}.` : `${agent.name} has no tasks yet.`}</p>
      ) : null}
      {connection ? <TaskList tasks={connection.edges.map((edge) => edge.node)} label={`tasks of ${agent.name}`} /> : null}
      {connection ? (
        <CursorPager
          page={pages.page}
          hasNextPage={connection.pageInfo.hasNextPage}
          onNext={() => pages.next(connection.pageInfo.endCursor)}
          onPrevious={pages.previous}
          label={`tasks of ${agent.name}`}
        />
      ) : null}
    </section>
  );
}

function TaskList({ tasks, label, onUpdate }: { tasks: readonly Task[]; label: string; onUpdate?: (task: Task) => void }) {
  return (
    <ul className="cards" aria-label={label}>
      {tasks.map((task) => (
        <TaskItem key={task.id} snapshot={task} onUpdate={onUpdate} />
      ))}
    </ul>
  );
}

/* ------------------------------------------------------------------ one task */

const terminal = (state: TaskState) => TERMINAL_STATES.has(state);

/** The newer of two views of one task: a terminal state is final, else the live one wins. */
function newer(a: Task, b: Task | null | undefined): Task {
  if (!b) return a;
  if (terminal(a.state) && !terminal(b.state)) return a;
  return b;
}

function TaskItem({ snapshot, onUpdate }: { snapshot: Task; onUpdate?: (task: Task) => void }) {
  // Follow it live until it ends (taskUpdates sends it as it is now, then every change).
  const [live] = useSubscription({
    query: TaskUpdatesSubscription,
    variables: { taskId: snapshot.id },
    pause: terminal(snapshot.state),
  });
  const [cancelled, cancel] = useMutation(CancelMutation);
  const task = newer(newer(snapshot, live.data?.taskUpdates), cancelled.data?.cancelTask);
  const headingId = useId();
  const progressId = useId();

  useEffect(() => {
    if (task !== snapshot) onUpdate?.(task);
  }, [task, snapshot, onUpdate]);

  const progressValue = task.progress ?? (task.state === "PENDING" ? 0 : undefined);
  const showBar = !(terminal(task.state) && task.progress == null);
  return (
    <li className="card task" aria-labelledby={headingId} data-state={task.state}>
      <h3 id={headingId}>
        {task.type} task <code>{task.id}</code>
      </h3>
      <p>
        <strong className={`state state-${task.state.toLowerCase()}`}>{TASK_STATE_WORDS[task.state]}</strong>
        {" · "}agent {task.agent.name}
        {" · "}
        {task.attempts === 1 ? "1 attempt" : `${task.attempts} attempts`}
        {" · "}priority {task.priority}
      </p>
      {showBar ? (
        <div className="progress">
          <label htmlFor={progressId}>
            Progress<span className="visually-hidden"> of task {task.id}</span>
          </label>
          <progress id={progressId} max={1} value={progressValue} aria-valuetext={formatProgress(task.progress)} />
          <span aria-hidden="true">{formatProgress(task.progress)}</span>
        </div>
      ) : null}
      <Facts>
        <Fact term="Queued">{formatTime(task.createdAt)}</Fact>
        {task.startedAt ? <Fact term="Started">{formatTime(task.startedAt)}</Fact> : null}
        {task.completedAt ? <Fact term="Ended">{formatTime(task.completedAt)}</Fact> : null}
        {task.error ? <Fact term={task.state === "FAILED" ? "Why it failed" : "Last failed attempt"}>{task.error}</Fact> : null}
      </Facts>
      <details>
        <summary>
          Payload{task.state === "COMPLETED" ? " and result" : ""}
          <span className="visually-hidden"> of task {task.id}</span>
        </summary>
        <pre className="code">{showJson(task.payload)}</pre>
        {task.state === "COMPLETED" ? <pre className="code">{showJson(task.result)}</pre> : null}
      </details>
      <ErrorMessage error={live.error ?? cancelled.error} />
      {terminal(task.state) ? null : (
        <ConfirmButton
          danger
          aria-label={`Cancel task ${task.id}`}
          question={
            task.state === "RUNNING"
              ? `Cancel this ${task.type} task? It is interrupted where it is.`
              : `Cancel this ${task.type} task? It will never start.`
          }
          confirmLabel="Yes, cancel the task"
          backOutLabel="No, keep it"
          onConfirm={() => cancel({ id: task.id })}
        >
          Cancel task
        </ConfirmButton>
      )}
    </li>
  );
}
