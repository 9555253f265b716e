/**
 * Send a command to the agent: its name and parameters (a JSON object, checked as typed). A
 * command the agent's approval policy names does not run yet: the answer says it waits for a
 * person, and links to its approval (its result comes later, as a COMMAND_RESULT event).
 */
import { useId, useState, type FormEvent } from "react";
import { useMutation, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import type { ResultOf } from "@graphql-typed-document-node/core";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { Field, JsonEditor, formatJson, formatTime, parseJson } from "../../ui";
import { approvalPath } from "../approvals/ApprovalCard";

const SendCommandMutation = graphql(`
  mutation ConsoleSendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {
    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {
      success
      result
      error
      durationMs
      timestamp
      approval {
        id
        state
        expiresAt
      }
    }
  }
`);

type Outcome = { command: string; result: ResultOf<typeof SendCommandMutation>["sendCommand"] };

export function CommandPanel({ agentId }: { agentId: string }) {
  const headingId = useId();
  const [command, setCommand] = useState("");
  const [params, setParams] = useState("{}");
  const [commandError, setCommandError] = useState<string | null>(null);
  const [error, setError] = useState<CombinedError | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [state, send] = useMutation(SendCommandMutation);
  const parsed = parseJson(params, true);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const name = command.trim();
    setCommandError(name ? null : "Required.");
    if (!name || !parsed.ok) return;
    setError(null);
    // One key per press: the request may be sent again (a renewed token), never run twice.
    const idempotencyKey = `console-${crypto.randomUUID()}`;
    const result = await send({ agentId, command: { command: name, params: parsed.value }, idempotencyKey });
    if (result.error) setError(result.error);
    if (result.data) setOutcome({ command: name, result: result.data.sendCommand });
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Send a command</h2>
      <form noValidate onSubmit={(event) => void submit(event)}>
        <Field label="Command" name="command" required value={command} onChange={(e) => setCommand(e.target.value)} error={commandError} />
        <JsonEditor label="Parameters (JSON object)" name="params" value={params} requireObject onChange={(text) => setParams(text)} />
        <button type="submit" className="primary" disabled={state.fetching || !parsed.ok}>
          {state.fetching ? "Sending…" : "Send command"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {outcome?.result.approval?.state === "PENDING" ? (
        <div className="command-result" role="status">
          <p>
            <strong>{outcome.command}</strong> waits for approval: it runs once a person approves it
            {outcome.result.approval.expiresAt ? `, until ${formatTime(outcome.result.approval.expiresAt)}` : ""}. Its result
            will be among the live events. <Link to={approvalPath(outcome.result.approval)}>See its approval</Link>
          </p>
        </div>
      ) : outcome ? (
        <div className="command-result" role="status">
          <p>
            <strong>{outcome.command}</strong>{" "}
            {outcome.result.success ? "succeeded" : "failed"} in {outcome.result.durationMs.toFixed(1)} ms
            {outcome.result.error ? `: ${outcome.result.error}` : "."}
          </p>
          {outcome.result.result !== null && outcome.result.result !== undefined ? (
            <pre className="code" aria-label="Command result">
              {formatJson(outcome.result.result)}
            </pre>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
