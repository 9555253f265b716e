/**
 * What came of an approved, rejected or expired approval, on its own page: the task it held
 * (its state, then its result or why it failed, and where to follow it) or the command's
 * result. Read again every few seconds until the work has ended: an approved command runs
 * in the background and a task waits for a worker, and neither comes to a feed this page
 * follows.
 */
import { useEffect, useRef } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { Fact, Facts } from "../Facts";
import { TASK_STATE_WORDS, TERMINAL_STATES, showJson } from "../words";
import type { Approval } from "./documents";

const OutcomeQuery = graphql(`
  query ApprovalPageOutcome($id: ID!) {
    approval(id: $id) {
      id
      state
      task {
        id
        type
        state
        error
        result
      }
      commandResult {
        success
        result
        error
        timestamp
      }
    }
  }
`);

/** How often the outcome is read again while the work runs. */
export const OUTCOME_POLL_MS = 2000;

export function Outcome({ approval }: { approval: Approval }) {
  const gated = approval.kind !== "ACTION";
  const [result, reread] = useQuery({
    query: OutcomeQuery,
    variables: { id: approval.id },
    requestPolicy: "network-only",
    pause: !gated,
  });
  const found = result.data?.approval;
  const task = found?.task ?? null;
  const command = found?.commandResult ?? null;
  const ended = task ? TERMINAL_STATES.has(task.state) : command !== null;
  const waiting = approval.state === "PENDING";

  // Read again when the decision lands (the page shows the approval the mutation answered).
  const seenState = useRef(approval.state);
  useEffect(() => {
    if (!gated || seenState.current === approval.state) return;
    seenState.current = approval.state;
    reread({ requestPolicy: "network-only" });
  }, [approval.state, gated, reread]);
  useEffect(() => {
    if (!gated || waiting || ended || result.fetching) return;
    const timer = window.setTimeout(() => reread({ requestPolicy: "network-only" }), OUTCOME_POLL_MS);
    return () => window.clearTimeout(timer);
  }, [gated, waiting, ended, result.fetching, reread]);

  if (!gated) return null;
  return (
    <section className="card outcome" aria-labelledby="approval-outcome">
      <h2 id="approval-outcome">What came of it</h2>
      <ErrorMessage error={result.error} />
      {task ? (
        <>
          <Facts>
            <Fact term="Task">
              <code>{task.id}</code> ({task.type})
            </Fact>
            <Fact term="Its state">{TASK_STATE_WORDS[task.state]}</Fact>
            {task.error ? <Fact term={task.state === "FAILED" ? "Why it failed" : "Error"}>{task.error}</Fact> : null}
          </Facts>
          {task.state === "COMPLETED" ? <pre className="code" aria-label="The task's result">{showJson(task.result)}</pre> : null}
          <p>
            <Link to={`/tasks?agent=${encodeURIComponent(approval.agent.id)}`}>Follow it among the agent's tasks</Link>
          </p>
        </>
      ) : command ? (
        <>
          <Facts>
            <Fact term="The command">{command.success ? "Succeeded" : "Did not run, or failed"}</Fact>
            {command.error ? <Fact term="Why">{command.error}</Fact> : null}
          </Facts>
          {command.success ? <pre className="code" aria-label="The command's result">{showJson(command.result)}</pre> : null}
        </>
      ) : result.fetching && !found ? (
        <p className="muted">Reading…</p>
      ) : waiting ? (
        <p className="muted">Nothing runs until it is decided.</p>
      ) : (
        <p className="muted">Running: its outcome shows here when it ends.</p>
      )}
    </section>
  );
}
