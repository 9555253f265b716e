/**
 * The agent's approval policy: which commands and task types wait for a person, and how long
 * an approval stays open; edited with updateAgent's approvalPolicy (a new policy replaces the
 * whole of the old one). A value the server refuses (BAD_USER_INPUT naming
 * input.approvalPolicy.<field>) is said beside its field, which takes the focus.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useClient, useQuery, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { useSession } from "../../session";
import { Field, Loading } from "../../ui";
import { Fact, Facts } from "../Facts";
import { durationWords } from "../approvals/words";

const PolicyQuery = graphql(`
  query ConsoleAgentApprovalPolicy($id: ID!) {
    agent(id: $id) {
      id
      approvalPolicy {
        commands
        taskTypes
        timeoutSeconds
      }
    }
  }
`);

const SavePolicyMutation = graphql(`
  mutation ConsoleUpdateApprovalPolicy($id: ID!, $input: AgentConfigPatch!) {
    updateAgent(id: $id, input: $input) {
      id
      approvalPolicy {
        commands
        taskTypes
        timeoutSeconds
      }
    }
  }
`);

type Policy = { commands: readonly string[]; taskTypes: readonly string[]; timeoutSeconds: number };
type Form = { commands: string; taskTypes: string; timeoutSeconds: string };
type Errors = Partial<Record<keyof Form, string>>;

const MAX_TIMEOUT = 604_800;
const FIELDS: Record<string, keyof Form> = {
  "input.approvalPolicy.commands": "commands",
  "input.approvalPolicy.taskTypes": "taskTypes",
  "input.approvalPolicy.timeoutSeconds": "timeoutSeconds",
};

/** "deploy, rollback" → ["deploy", "rollback"], each once. */
export function namesOf(text: string): string[] {
  return [...new Set(text.split(",").map((name) => name.trim()).filter(Boolean))];
}

function namesWords(names: readonly string[], what: string): string {
  if (names.includes("*")) return `Every ${what}`;
  return names.length ? names.join(", ") : "None";
}

/** The server's refusals that name a field of this form, by field. */
function serverErrors(error: CombinedError | undefined): Errors {
  const found: Errors = {};
  for (const e of error?.graphQLErrors ?? []) {
    const field = e.extensions?.field;
    const name = e.extensions?.code === "BAD_USER_INPUT" && typeof field === "string" ? FIELDS[field] : undefined;
    if (name) found[name] = e.message;
  }
  return found;
}

export function ApprovalPolicyPanel({ agentId }: { agentId: string }) {
  const session = useSession();
  const headingId = useId();
  const [result] = useQuery({ query: PolicyQuery, variables: { id: agentId } });
  const [saved, setSaved] = useState<Policy | null>(null);
  const [editing, setEditing] = useState(false);
  const [notice, setNotice] = useState("");
  const policy = saved ?? result.data?.agent?.approvalPolicy ?? null;
  const gates = policy !== null && (policy.commands.length > 0 || policy.taskTypes.length > 0);

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Approval policy</h2>
      <ErrorMessage error={result.error} />
      {result.fetching && !policy ? <Loading what="the approval policy" /> : null}
      {policy ? (
        <>
          <p>
            {gates
              ? "These commands and task types wait for a person to approve them before they run."
              : "Nothing of this agent waits for a person: no command or task type needs approval."}
          </p>
          <Facts>
            <Fact term="Commands that need approval">{namesWords(policy.commands, "command")}</Fact>
            <Fact term="Task types that need approval">{namesWords(policy.taskTypes, "task type")}</Fact>
            <Fact term="An approval expires after">{durationWords(policy.timeoutSeconds)}</Fact>
          </Facts>
        </>
      ) : null}
      <p className="status" role="status">
        {notice}
      </p>
      {editing && policy ? (
        <PolicyForm
          agentId={agentId}
          policy={policy}
          onDone={(next) => {
            setEditing(false);
            if (next) {
              setSaved(next);
              setNotice("Approval policy saved.");
            }
          }}
        />
      ) : (
        <div className="actions">
          {policy && session.can("agent.update") ? (
            <button type="button" onClick={() => { setEditing(true); setNotice(""); }}>
              Edit approval policy
            </button>
          ) : null}
          <Link to={`/approvals?agent=${encodeURIComponent(agentId)}`}>Its approvals</Link>
        </div>
      )}
    </section>
  );
}

function check(form: Form): { errors: Errors; timeout: number | null } {
  const errors: Errors = {};
  const commands = namesOf(form.commands);
  const taskTypes = namesOf(form.taskTypes);
  if (commands.length > 100) errors.commands = "At most 100 names.";
  if (taskTypes.length > 100) errors.taskTypes = "At most 100 names.";
  const timeout = Number(form.timeoutSeconds);
  if (form.timeoutSeconds.trim() === "" || !Number.isFinite(timeout) || timeout < 1 || timeout > MAX_TIMEOUT) {
    errors.timeoutSeconds = `Enter a number of seconds from 1 to ${MAX_TIMEOUT} (a week).`;
  }
  return { errors, timeout: errors.timeoutSeconds ? null : timeout };
}

function PolicyForm({ agentId, policy, onDone }: { agentId: string; policy: Policy; onDone: (saved: Policy | null) => void }) {
  const client = useClient();
  const formRef = useRef<HTMLFormElement>(null);
  const [form, setForm] = useState<Form>({
    commands: policy.commands.join(", "),
    taskTypes: policy.taskTypes.join(", "),
    timeoutSeconds: String(policy.timeoutSeconds),
  });
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<CombinedError | null>(null);
  const [busy, setBusy] = useState(false);
  const [round, setRound] = useState(0);
  const set = (name: keyof Form) => (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value });

  // After a refusal, the first field marked takes the focus.
  useEffect(() => {
    if (round > 0) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [round]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const checked = check(form);
    setErrors(checked.errors);
    setError(null);
    if (checked.timeout === null || Object.keys(checked.errors).length > 0) {
      setRound((n) => n + 1);
      return;
    }
    setBusy(true);
    const approvalPolicy = { commands: namesOf(form.commands), taskTypes: namesOf(form.taskTypes), timeoutSeconds: checked.timeout };
    const answer = await client.mutation(SavePolicyMutation, { id: agentId, input: { approvalPolicy } }).toPromise();
    setBusy(false);
    const next = answer.data?.updateAgent.approvalPolicy;
    if (next) {
      onDone(next);
      return;
    }
    const byField = serverErrors(answer.error);
    setErrors(byField);
    if (Object.keys(byField).length === 0) setError(answer.error ?? null);
    setRound((n) => n + 1);
  };

  return (
    <form ref={formRef} noValidate onSubmit={(event) => void submit(event)}>
      <Field
        label="Commands that need approval"
        hint="Command names, separated by commas; * for every command. Empty: none."
        value={form.commands}
        error={errors.commands}
        onChange={set("commands")}
      />
      <Field
        label="Task types that need approval"
        hint="Task types, separated by commas; * for every type. A schedule's runs of these wait too."
        value={form.taskTypes}
        error={errors.taskTypes}
        onChange={set("taskTypes")}
      />
      <Field
        label="Expire after (seconds)"
        type="number"
        inputMode="decimal"
        min={1}
        max={MAX_TIMEOUT}
        step="any"
        hint="An approval nobody decides by then expires, and its work is refused: 1 to 604800 (a week)."
        value={form.timeoutSeconds}
        error={errors.timeoutSeconds}
        onChange={set("timeoutSeconds")}
      />
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Saving…" : "Save approval policy"}
        </button>
        <button type="button" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
