/**
 * Replay: queue again, for this webhook, every stored event of one agent after a seq (those
 * of the types it takes), and say how many were queued. The server reaches as far back as the
 * event log keeps; its refusals (BAD_USER_INPUT naming agentId or after) are said beside the
 * field, which takes the focus.
 */
import { useEffect, useId, useState, type FormEvent } from "react";
import { CombinedError, useMutation, useQuery } from "urql";

import { ErrorMessage } from "../../errors";
import { useSession } from "../../session";
import { Field, SelectField, countOf } from "../../ui";
import { ReplayWebhookMutation, WebhookAgentsQuery, type Webhook } from "./documents";

type Errors = { agentId?: string; after?: string };

function fieldErrors(error: CombinedError | undefined): Errors | null {
  if (!error || error.graphQLErrors.length === 0) return null;
  const found: Errors = {};
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    if (e.extensions?.code !== "BAD_USER_INPUT" || (field !== "agentId" && field !== "after")) return null;
    found[field] = e.message;
  }
  return found;
}

export function ReplayForm({ webhook, onQueued }: { webhook: Webhook; onQueued: () => void }) {
  const headingId = useId();
  const session = useSession();
  const ownerId = session.user?.id ?? "";
  // The agents it watches; watching all, the signed-in user's own.
  const [own] = useQuery({ query: WebhookAgentsQuery, variables: { ownerId }, pause: !ownerId || webhook.agents != null });
  const agents = webhook.agents ?? (own.data?.agents.edges ?? []).map((edge) => edge.node);
  const [agentId, setAgentId] = useState("");
  const [after, setAfter] = useState("0");
  const [shown, setShown] = useState<Errors>({});
  const [attempt, setAttempt] = useState(0);
  const [replayed, replay] = useMutation(ReplayWebhookMutation);
  const [refused, setRefused] = useState<CombinedError | null>(null);
  const [said, setSaid] = useState("");

  const firstAgent = agents[0]?.id;
  useEffect(() => {
    if (firstAgent && !agents.some((agent) => agent.id === agentId)) setAgentId(firstAgent);
  }, [firstAgent]);
  useEffect(() => {
    if (attempt === 0) return;
    document.querySelector<HTMLElement>(`[aria-labelledby="${headingId}"] [aria-invalid="true"]`)?.focus();
  }, [attempt]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setRefused(null);
    setSaid("");
    const errors: Errors = {};
    if (!agentId) errors.agentId = "Choose an agent.";
    const seq = Number(after);
    if (after.trim() === "" || !Number.isInteger(seq) || seq < 0) errors.after = "Enter a seq: a whole number, 0 or more (0 replays all that is kept).";
    setShown(errors);
    setAttempt((n) => n + 1);
    if (Object.keys(errors).length > 0) return;
    const result = await replay({ id: webhook.id, agentId, after: seq });
    const count = result.data?.replayWebhook;
    if (typeof count === "number") {
      const name = agents.find((agent) => agent.id === agentId)?.name ?? agentId;
      setSaid(
        count
          ? `${countOf(count, "delivery", "deliveries")} queued: the events of ${name} after seq ${seq}.`
          : `Nothing queued: ${name} has no stored event after seq ${seq} of the types this webhook takes.`,
      );
      onQueued();
      return;
    }
    const byField = fieldErrors(result.error);
    if (byField) setShown(byField);
    else setRefused(result.error ?? null);
    setAttempt((n) => n + 1);
  };

  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>Replay events</h2>
      <p className="muted">
        Queues again, as new deliveries, every stored event of an agent after the seq you give, of the types this webhook
        takes: for an endpoint that lost some. After seq 0 replays all the server still keeps.
      </p>
      <form className="inline-form" noValidate onSubmit={(event) => void submit(event)}>
        <SelectField label="Agent" value={agentId} error={shown.agentId} onChange={(e) => { setAgentId(e.target.value); setShown((held) => ({ ...held, agentId: undefined })); }}>
          {agents.some((agent) => agent.id === agentId) ? null : <option value="">{agents.length ? "Choose an agent" : "No agent to replay"}</option>}
          {agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
        </SelectField>
        <Field
          label="After seq"
          type="number"
          inputMode="numeric"
          min={0}
          step={1}
          value={after}
          error={shown.after}
          onChange={(e) => { setAfter(e.target.value); setShown((held) => ({ ...held, after: undefined })); }}
        />
        <button type="submit" disabled={replayed.fetching}>
          {replayed.fetching ? "Queuing…" : "Replay"}
        </button>
      </form>
      <ErrorMessage error={refused} />
      <p role="status" className="status">
        {said}
      </p>
    </section>
  );
}
