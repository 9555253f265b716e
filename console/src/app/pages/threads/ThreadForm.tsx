/**
 * Start a thread: the agent to talk with (one of yours) and an optional title. A value the
 * server refuses (BAD_USER_INPUT naming input.agentId or input.title) is said beside its
 * field, which takes the focus; any other refusal (QUOTA_EXCEEDED past your threads' quota)
 * above the buttons.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { CombinedError, useClient } from "urql";

import type { AgentState } from "../../../gql/graphql";
import { ErrorMessage } from "../../errors";
import { Field, Loading, SelectField } from "../../ui";
import { CreateThreadMutation, type Thread } from "./documents";

const MAX_TITLE = 200;

type Errors = Partial<Record<"agentId" | "title", string>>;
type Agent = { id: string; name: string; type: string; state: AgentState };

/** The server's refusals that name a field of this form; null when any does not. */
function fieldErrors(error: CombinedError | undefined): Errors | null {
  if (!error || error.graphQLErrors.length === 0) return null;
  const found: Errors = {};
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    if (e.extensions?.code !== "BAD_USER_INPUT") return null;
    if (field === "input.agentId") found.agentId = e.message;
    else if (field === "input.title") found.title = e.message;
    else return null;
  }
  return found;
}

type Props = {
  agents: readonly Agent[];
  /** The agent chosen to begin with (the list's filter). */
  agentId: string;
  loading: boolean;
  /** The new thread, or null when cancelled. */
  onDone: (made: Thread | null) => void;
};

export function ThreadForm({ agents, agentId, loading, onDone }: Props) {
  const client = useClient();
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [chosen, setChosen] = useState(agentId);
  const [title, setTitle] = useState("");
  const [shown, setShown] = useState<Errors>({});
  const [refused, setRefused] = useState<CombinedError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [busy, setBusy] = useState(false);
  const agent = chosen || agents[0]?.id || "";

  useEffect(() => heading.current?.focus(), []);
  useEffect(() => {
    if (attempt === 0) return;
    document.querySelector<HTMLElement>(`[aria-labelledby="${headingId}"] [aria-invalid="true"]`)?.focus();
  }, [attempt]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setRefused(null);
    const errors: Errors = {};
    if (!agent) errors.agentId = "Choose the agent to talk with.";
    if (title.trim().length > MAX_TITLE) errors.title = `At most ${MAX_TITLE} characters.`;
    setShown(errors);
    setAttempt((n) => n + 1);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    const result = await client.mutation(CreateThreadMutation, { input: { agentId: agent, title: title.trim() || null } }).toPromise();
    setBusy(false);
    if (result.data) return onDone(result.data.createThread);
    const byField = fieldErrors(result.error);
    if (byField) setShown(byField);
    else setRefused(result.error ?? null);
    setAttempt((n) => n + 1);
  };

  const marked = Object.values(shown).some(Boolean);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        New thread
      </h2>
      <form noValidate onSubmit={(event) => void submit(event)}>
        {loading ? <Loading what="your agents" /> : null}
        {!loading && agents.length === 0 ? (
          <p>You have no agents yet, and a thread is a conversation with one. Create an agent first.</p>
        ) : null}
        <SelectField
          label="Agent"
          hint="The agent that answers in this thread (it answers while it is running)."
          value={agent}
          error={shown.agentId}
          onChange={(e) => {
            setChosen(e.target.value);
            setShown((held) => ({ ...held, agentId: undefined }));
          }}
        >
          {agent && !agents.some((a) => a.id === agent) ? <option value={agent}>{agent}</option> : null}
          {agents.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name} ({a.type}, {a.state.toLowerCase()})
            </option>
          ))}
        </SelectField>
        <Field
          label="Title (optional)"
          maxLength={MAX_TITLE}
          hint={`What the conversation is about: up to ${MAX_TITLE} characters.`}
          value={title}
          error={shown.title}
          onChange={(e) => {
            setTitle(e.target.value);
            setShown((held) => ({ ...held, title: undefined }));
          }}
        />
        {marked ? (
          <p role="alert" className="field-error">
            Correct the values marked above.
          </p>
        ) : null}
        <ErrorMessage error={refused} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !agent}>
            {busy ? "Starting…" : "Start thread"}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel<span className="visually-hidden"> the new thread</span>
          </button>
        </div>
      </form>
    </section>
  );
}
