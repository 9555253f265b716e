/**
 * Create or edit a webhook: its URL, a description, the event types it is sent (none ticked:
 * all), the agents it watches (none ticked: all of yours, present and future) and, when
 * creating, whether it starts switched on. The page checks only what it must; the server has
 * the last word, and a value it refuses (BAD_USER_INPUT with `extensions.field`) is said
 * beside its field, which takes the focus. A new webhook's signing secret goes to `onDone`
 * straight from the mutation's answer (urql's client, not a hook that would keep it).
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { CombinedError, useClient, useQuery } from "urql";

import type { AgentEventType } from "../../../gql/graphql";
import { ErrorMessage } from "../../errors";
import { useSession } from "../../session";
import { Field, Loading, TextAreaField } from "../../ui";
import { CreateWebhookMutation, EVENT_TYPES, EVENT_TYPE_WORDS, UpdateWebhookMutation, WebhookAgentsQuery, type Webhook } from "./documents";
import "./webhooks.css";

type Form = {
  url: string;
  description: string;
  eventTypes: ReadonlySet<AgentEventType>;
  agentIds: ReadonlySet<string>;
  active: boolean;
};
type Errors = Partial<Record<"url" | "description" | "eventTypes" | "agentIds" | "active", string>>;

const MAX_URL = 2000;
const MAX_DESCRIPTION = 500;

/** Where the server's `extensions.field` points, in this form. */
const SERVER_FIELDS: Readonly<Record<string, keyof Errors>> = {
  "input.url": "url",
  "input.description": "description",
  "input.eventTypes": "eventTypes",
  "input.agentIds": "agentIds",
  "input.active": "active",
};

/** The server's refusals that name a field of this form, by field; null when any does not
 * (then the whole error is shown above the buttons). */
function fieldErrors(error: CombinedError | undefined): Errors | null {
  if (!error || error.graphQLErrors.length === 0) return null;
  const found: Errors = {};
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    const name = e.extensions?.code === "BAD_USER_INPUT" && typeof field === "string" ? SERVER_FIELDS[field] : undefined;
    if (!name) return null;
    found[name] = e.message;
  }
  return found;
}

function initial(webhook: Webhook | undefined): Form {
  return {
    url: webhook?.url ?? "",
    description: webhook?.description ?? "",
    eventTypes: new Set(webhook?.eventTypes ?? []),
    agentIds: new Set((webhook?.agents ?? []).map((agent) => agent.id)),
    active: webhook?.active ?? true,
  };
}

function check(form: Form): Errors {
  const errors: Errors = {};
  const url = form.url.trim();
  if (!url) errors.url = "Enter the endpoint's URL, like https://example.com/kai-events.";
  else if (url.length > MAX_URL) errors.url = `At most ${MAX_URL} characters.`;
  if (form.description.trim().length > MAX_DESCRIPTION) errors.description = `At most ${MAX_DESCRIPTION} characters.`;
  return errors;
}

const sorted = <T extends string>(values: Iterable<T>): T[] => [...values].sort();
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((value, index) => value === b[index]);

/** What an edit changes, and only that (what is left out stays). Empty lists mean "all". */
function patchOf(webhook: Webhook, form: Form) {
  const url = form.url.trim();
  const description = form.description.trim();
  const eventTypes = sorted(form.eventTypes);
  const agentIds = sorted(form.agentIds);
  return {
    url: url !== webhook.url ? url : null,
    // "" clears it: the server stores an empty note as none.
    description: description !== (webhook.description ?? "") ? description : null,
    eventTypes: same(eventTypes, sorted(webhook.eventTypes)) ? null : eventTypes,
    agentIds: same(agentIds, sorted((webhook.agents ?? []).map((agent) => agent.id))) ? null : agentIds,
  };
}

type Props = {
  /** The webhook to edit; none creates one. */
  webhook?: Webhook;
  /** Saved (with the secret, when created), or null when cancelled. */
  onDone: (saved: { webhook: Webhook; secret: string | null } | null) => void;
};

export function WebhookForm({ webhook, onDone }: Props) {
  const creating = webhook === undefined;
  const client = useClient();
  const session = useSession();
  const ownerId = session.user?.id ?? "";
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [agents] = useQuery({ query: WebhookAgentsQuery, variables: { ownerId }, pause: !ownerId });
  const [form, setForm] = useState<Form>(() => initial(webhook));
  const [shown, setShown] = useState<Errors>({});
  const [refused, setRefused] = useState<CombinedError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [busy, setBusy] = useState(false);

  // The agents to choose from: your own, and any this webhook watches that are not (ADMIN's
  // view of another user's webhook).
  const own = (agents.data?.agents.edges ?? []).map((edge) => edge.node);
  const choices = [...own, ...(webhook?.agents ?? []).filter((agent) => !own.some((a) => a.id === agent.id))];

  useEffect(() => heading.current?.focus(), []);
  // After a refusal (the page's or the server's), the first field marked takes the focus.
  useEffect(() => {
    if (attempt === 0) return;
    document.querySelector<HTMLElement>(`[aria-labelledby="${headingId}"] [aria-invalid="true"]`)?.focus();
  }, [attempt]);

  const set = <K extends keyof Form>(name: K, value: Form[K]) => {
    setForm((held) => ({ ...held, [name]: value }));
    setShown((held) => ({ ...held, [name]: undefined }));
  };
  const toggle = <T,>(values: ReadonlySet<T>, value: T, on: boolean): ReadonlySet<T> => {
    const next = new Set(values);
    if (on) next.add(value);
    else next.delete(value);
    return next;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setRefused(null);
    const errors = check(form);
    setShown(errors);
    setAttempt((n) => n + 1);
    if (Object.keys(errors).length > 0) return;
    setBusy(true);
    const result = creating
      ? await client
          .mutation(CreateWebhookMutation, {
            input: {
              url: form.url.trim(),
              description: form.description.trim() || null,
              eventTypes: sorted(form.eventTypes),
              agentIds: form.agentIds.size > 0 ? sorted(form.agentIds) : null,
              active: form.active,
            },
          })
          .toPromise()
      : await client.mutation(UpdateWebhookMutation, { id: webhook.id, input: patchOf(webhook, form) }).toPromise();
    setBusy(false);
    const data = result.data;
    if (data && "createWebhook" in data) return onDone({ webhook: data.createWebhook.webhook, secret: data.createWebhook.secret });
    if (data && "updateWebhook" in data) return onDone({ webhook: data.updateWebhook, secret: null });
    const byField = fieldErrors(result.error);
    if (byField) setShown(byField);
    else setRefused(result.error ?? null);
    setAttempt((n) => n + 1);
  };

  const title = creating ? "New webhook" : "Edit webhook";
  const marked = Object.values(shown).some(Boolean);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <form noValidate onSubmit={(event) => void submit(event)}>
        <Field
          label="URL"
          type="url"
          inputMode="url"
          autoComplete="off"
          spellCheck={false}
          className="code"
          hint="Where each event is POSTed: an https:// address (http:// only to addresses the server allows, as a development server allows this machine's)."
          value={form.url}
          error={shown.url}
          onChange={(e) => set("url", e.target.value)}
        />
        <TextAreaField
          label="Description (optional)"
          rows={2}
          maxLength={MAX_DESCRIPTION}
          hint={`What it is for: up to ${MAX_DESCRIPTION} characters.`}
          value={form.description}
          error={shown.description}
          onChange={(e) => set("description", e.target.value)}
        />
        <Choices
          legend="Event types"
          hint="None ticked: every type, including types added later."
          error={shown.eventTypes}
          choices={EVENT_TYPES.map((type) => ({ value: type, label: <>{EVENT_TYPE_WORDS[type]} <code>{type}</code></> }))}
          chosen={form.eventTypes}
          onChange={(type, on) => set("eventTypes", toggle(form.eventTypes, type, on))}
        />
        {agents.fetching && !agents.data ? <Loading what="your agents" /> : null}
        <ErrorMessage error={agents.error} />
        <Choices
          legend="Agents"
          hint={choices.length ? "None ticked: all of your agents, those made later too." : "You have no agents yet: it will watch all of them, those made later too."}
          error={shown.agentIds}
          choices={choices.map((agent) => ({ value: agent.id, label: agent.name }))}
          chosen={form.agentIds}
          onChange={(id, on) => set("agentIds", toggle(form.agentIds, id, on))}
        />
        {creating ? (
          <Field
            label="Active"
            type="checkbox"
            hint="Untick to create it switched off: nothing is sent until it is switched on."
            checked={form.active}
            error={shown.active}
            onChange={(e) => set("active", e.target.checked)}
          />
        ) : null}
        {marked ? (
          <p role="alert" className="field-error">
            Correct the values marked above.
          </p>
        ) : null}
        <ErrorMessage error={refused} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Saving…" : creating ? "Create webhook" : "Save changes"}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel<span className="visually-hidden">{creating ? " the new webhook" : " the changes"}</span>
          </button>
        </div>
      </form>
    </section>
  );
}

type ChoicesProps<T extends string> = {
  legend: string;
  hint: string;
  error: string | undefined;
  choices: readonly { value: T; label: ReactNode }[];
  chosen: ReadonlySet<T>;
  onChange: (value: T, on: boolean) => void;
};

/** A group of checkboxes with a hint and an error, both tied to each box. */
function Choices<T extends string>({ legend, hint, error, choices, chosen, onChange }: ChoicesProps<T>) {
  const id = useId();
  const described = [`${id}-hint`, error ? `${id}-error` : null].filter(Boolean).join(" ");
  return (
    <fieldset aria-describedby={described}>
      <legend>{legend}</legend>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {choices.length ? (
        <div className="checks">
          {choices.map((choice) => (
            <div className="field field-inline choice-box" key={choice.value}>
              <input
                id={`${id}-${choice.value}`}
                type="checkbox"
                checked={chosen.has(choice.value)}
                aria-invalid={error ? true : undefined}
                aria-describedby={error ? `${id}-error` : undefined}
                onChange={(event) => onChange(choice.value, event.target.checked)}
              />
              <label htmlFor={`${id}-${choice.value}`}>{choice.label}</label>
            </div>
          ))}
        </div>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </fieldset>
  );
}
