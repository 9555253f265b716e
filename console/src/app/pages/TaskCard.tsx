/**
 * A task as a card, the one markup for every list of tasks on the Tasks page: its state in
 * words, a progress bar followed live (taskUpdates) until it ends, its attempts, retries,
 * timeout and when it is due, its payload and result, and a cancel that asks first.
 */
import { useEffect, useId } from "react";
import { useMutation, useSubscription } from "urql";

import { graphql } from "../../gql";
import type { TaskState, TasksPageTaskFragment } from "../../gql/graphql";
import { ErrorMessage } from "../errors";
import { Link } from "../router";
import { ConfirmButton, formatTime } from "../ui";
import { approvalPath } from "./approvals/ApprovalCard";
import { Fact, Facts } from "./Facts";
import "./pages.css";
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
    retries
    timeoutSeconds
    runAt
    createdAt
    startedAt
    completedAt
    agent {
      id
      name
    }
    approval {
      id
      state
      expiresAt
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

export type Task = TasksPageTaskFragment;

export function TaskList({ tasks, label, onUpdate }: { tasks: readonly Task[]; label: string; onUpdate?: (task: Task) => void }) {
  return (
    <ul className="cards" aria-label={label}>
      {tasks.map((task) => (
        <TaskCard key={task.id} snapshot={task} onUpdate={onUpdate} />
      ))}
    </ul>
  );
}

const terminal = (state: TaskState) => TERMINAL_STATES.has(state);

/** The newer of two views of one task: a terminal state is final, else the live one wins. */
function newer(a: Task, b: Task | null | undefined): Task {
  if (!b) return a;
  if (terminal(a.state) && !terminal(b.state)) return a;
  return b;
}

/** "2 attempts (3 retries allowed)": how many started, and how many more failures may. */
function attemptWords(task: Task): string {
  const made = task.attempts === 0 ? "no attempt yet" : task.attempts === 1 ? "1 attempt" : `${task.attempts} attempts`;
  if (task.retries === 0) return made;
  return `${made} (${task.retries === 1 ? "1 retry" : `${task.retries} retries`} allowed)`;
}

/** 30 → "30 seconds", 3600 → "1 hour" (the server's default), 5400 → "90 minutes". */
function timeoutWords(seconds: number | null | undefined): string {
  if (seconds == null) return "the server's default";
  const [count, unit] = seconds >= 3600 && seconds % 3600 === 0 ? [seconds / 3600, "hour"] : seconds >= 120 && seconds % 60 === 0 ? [seconds / 60, "minute"] : [seconds, "second"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}

export function TaskCard({ snapshot, onUpdate }: { snapshot: Task; onUpdate?: (task: Task) => void }) {
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

  const waiting = task.state === "PENDING" || task.state === "AWAITING_APPROVAL";
  const progressValue = task.progress ?? (waiting ? 0 : undefined);
  const showBar = !(terminal(task.state) && task.progress == null);
  // Due later than now: delayed, or backing off before a retry.
  const due = task.state === "PENDING" && Date.parse(task.runAt) > Date.now();
  return (
    <li className="card task" aria-labelledby={headingId} data-state={task.state}>
      <h3 id={headingId}>
        {task.type} task <code>{task.id}</code>
      </h3>
      <p>
        <strong className={`state state-${task.state.toLowerCase()}`}>{TASK_STATE_WORDS[task.state]}</strong>
        {" · "}agent {task.agent.name}
        {" · "}
        {attemptWords(task)}
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
      {task.state === "AWAITING_APPROVAL" && task.approval ? (
        <p className="notice">
          Its agent's approval policy holds this task until a person approves it
          {task.approval.expiresAt ? ` (by ${formatTime(task.approval.expiresAt)}, or it is cancelled)` : ""}.{" "}
          <Link to={approvalPath(task.approval)}>
            See its approval<span className="visually-hidden"> for task {task.id}</span>
          </Link>
        </p>
      ) : null}
      <Facts>
        <Fact term="Queued">{formatTime(task.createdAt)}</Fact>
        {due ? <Fact term="Not before">{formatTime(task.runAt)}</Fact> : null}
        {task.startedAt ? <Fact term="Started">{formatTime(task.startedAt)}</Fact> : null}
        {task.completedAt ? <Fact term="Ended">{formatTime(task.completedAt)}</Fact> : null}
        <Fact term="Timeout">{timeoutWords(task.timeoutSeconds)}</Fact>
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
              : task.state === "AWAITING_APPROVAL"
                ? `Cancel this ${task.type} task? It will never start, and its approval is withdrawn.`
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
