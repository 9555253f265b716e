/**
 * Create or edit a schedule: its agent (when creating), name, timetable (a cron expression
 * read in a time zone, or one time in that zone) and the task each run queues (type, payload,
 * priority, retries, timeout). Values are checked here as far as the page can; the server
 * has the last word, and a value it refuses (BAD_USER_INPUT with `extensions.field`) is said
 * beside its field, which takes the focus.
 */
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { CombinedError, useMutation, useQuery } from "urql";

import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { Field, JsonEditor, Loading, SelectField, parseJson } from "../../ui";
import { examplePayload, numberIn, taskTypesOf } from "../TasksPage";
import { CreateScheduleMutation, ScheduleAgentsQuery, UpdateScheduleMutation, type Schedule } from "./documents";
import "./schedules.css";
import { browserZone, instantToWallTime, knownZone, wallTimeToInstant, zoneNames } from "./timetable";

type Form = {
  agentId: string;
  name: string;
  kind: "cron" | "once";
  cron: string;
  timezone: string;
  runAt: string;
  type: string;
  payload: string;
  priority: string;
  retries: string;
  timeoutSeconds: string;
  active: boolean;
};
type Errors = Partial<Record<keyof Form, string>>;
type Task = { type: string; payload: unknown; priority: number; retries: number; timeoutSeconds: number | null };
type Checked = { errors: Errors; timetable: { cron: string | null; runAt: string | null }; task: Task | null };

/** Where the server's `extensions.field` points, in this form. */
const SERVER_FIELDS: Readonly<Record<string, keyof Form>> = {
  "input.name": "name",
  "input.cron": "cron",
  "input.runAt": "runAt",
  "input.timezone": "timezone",
  "input.task.type": "type",
  "input.task.payload": "payload",
  "input.task.priority": "priority",
  "input.task.retries": "retries",
  "input.task.timeoutSeconds": "timeoutSeconds",
};

/** The server's refusals that name a field of this form, by field; null when any does not
 * (then the whole error is shown above the buttons). */
function fieldErrors(error: CombinedError | undefined, kind: Form["kind"]): Errors | null {
  if (!error || error.graphQLErrors.length === 0) return null;
  const found: Errors = {};
  for (const e of error.graphQLErrors) {
    const field = e.extensions?.field;
    const name = e.extensions?.code === "BAD_USER_INPUT" && typeof field === "string" ? SERVER_FIELDS[field] : undefined;
    if (!name) return null;
    // "Give either cron or runAt" names cron: in the one-time form that is the time.
    found[name === "cron" && kind === "once" ? "runAt" : name] = e.message;
  }
  return found;
}

function initial(schedule: Schedule | undefined, agentId: string): Form {
  const timezone = schedule?.timezone ?? browserZone();
  const task = schedule?.task;
  return {
    agentId: schedule?.agent.id ?? agentId,
    name: schedule?.name ?? "",
    kind: schedule && !schedule.cron ? "once" : "cron",
    cron: schedule?.cron ?? "",
    timezone,
    runAt: schedule?.runAt ? instantToWallTime(schedule.runAt, timezone) : "",
    type: task?.type ?? "",
    payload: task ? JSON.stringify(task.payload ?? null) : "null",
    priority: String(task?.priority ?? 0),
    retries: String(task?.retries ?? 0),
    timeoutSeconds: task?.timeoutSeconds != null ? String(task.timeoutSeconds) : "",
    active: schedule?.active ?? true,
  };
}

/** The form's values checked as far as the page can (TaskInput's ranges, a name, a time). */
function check(form: Form, creating: boolean): Checked {
  const errors: Errors = {};
  if (creating && !form.agentId) errors.agentId = "Choose an agent.";
  const name = form.name.trim();
  if (!name) errors.name = "Enter a name.";
  else if ([...name].length > 100) errors.name = "At most 100 characters.";
  const timezone = form.timezone.trim();
  if (!timezone) errors.timezone = "Enter a time zone, like Europe/Berlin or UTC.";
  let timetable: Checked["timetable"] = { cron: null, runAt: null };
  if (form.kind === "cron") {
    if (!form.cron.trim()) errors.cron = "Enter a cron expression, like 0 9 * * 1-5.";
    timetable = { cron: form.cron.trim(), runAt: null };
  } else {
    if (timezone && !knownZone(timezone)) errors.timezone = "Enter an IANA time zone, like Europe/Berlin or UTC.";
    const runAt = errors.timezone ? null : wallTimeToInstant(form.runAt, timezone);
    if (!form.runAt) errors.runAt = "Enter a date and time.";
    else if (!runAt && !errors.timezone) errors.runAt = "Enter a date and time, like 2026-12-24 09:00.";
    timetable = { cron: null, runAt };
  }
  if (!form.type.trim()) errors.type = "Choose a task type.";
  const payload = parseJson(form.payload);
  if (!payload.ok) errors.payload = payload.error;
  const priority = numberIn(form.priority, -1000, 1000, true);
  if (typeof priority === "string") errors.priority = priority;
  const retries = numberIn(form.retries, 0, 20, true);
  if (typeof retries === "string") errors.retries = retries;
  let timeoutSeconds: number | string | null = null;
  if (form.timeoutSeconds.trim() !== "") {
    timeoutSeconds = numberIn(form.timeoutSeconds, 0, 24 * 3600, false);
    if (timeoutSeconds === 0) timeoutSeconds = "Enter more than 0 seconds, or leave it empty.";
    if (typeof timeoutSeconds === "string") errors.timeoutSeconds = timeoutSeconds;
  }
  if (Object.keys(errors).length > 0 || !payload.ok) return { errors, timetable, task: null };
  return {
    errors,
    timetable,
    task: {
      type: form.type.trim(),
      payload: payload.value,
      priority: priority as number,
      retries: retries as number,
      timeoutSeconds: timeoutSeconds as number | null,
    },
  };
}

/** What an edit changes, and only that: a timetable sent again would be a new one (a one-off
 * that has run would run again), so the stored one is sent only when it changed. */
function patchOf(schedule: Schedule, form: Form, checked: Checked) {
  const { cron, runAt } = checked.timetable;
  const sameTimetable =
    cron !== null ? cron === schedule.cron : runAt !== null && schedule.runAt !== null && schedule.runAt !== undefined && Date.parse(runAt) === Date.parse(schedule.runAt);
  const task = checked.task;
  const old = schedule.task;
  const sameTask =
    task !== null &&
    task.type === old.type &&
    JSON.stringify(task.payload) === JSON.stringify(old.payload ?? null) &&
    task.priority === old.priority &&
    task.retries === old.retries &&
    task.timeoutSeconds === (old.timeoutSeconds ?? null);
  const timezone = form.timezone.trim();
  return {
    name: form.name.trim() !== schedule.name ? form.name.trim() : null,
    cron: sameTimetable ? null : cron,
    runAt: sameTimetable ? null : runAt,
    timezone: timezone !== schedule.timezone ? timezone : null,
    task: sameTask ? null : task,
  };
}

type Props = {
  /** The schedule to edit; none creates one. */
  schedule?: Schedule;
  /** The agent a new schedule starts with (the list's ?agent=). */
  agentId?: string;
  onDone: (saved: Schedule | null) => void;
};

export function ScheduleForm({ schedule, agentId = "", onDone }: Props) {
  const creating = schedule === undefined;
  const headingId = useId();
  const zonesId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [agents] = useQuery({ query: ScheduleAgentsQuery });
  const [form, setForm] = useState<Form>(() => initial(schedule, agentId));
  const [shown, setShown] = useState<Errors>({});
  const [refused, setRefused] = useState<CombinedError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [created, create] = useMutation(CreateScheduleMutation);
  const [updated, update] = useMutation(UpdateScheduleMutation);
  const busy = created.fetching || updated.fetching;

  const list = (agents.data?.agents.edges ?? []).map((edge) => edge.node);
  const agent = list.find((a) => a.id === form.agentId);
  const taskTypes = taskTypesOf(agent, agents.data?.agentTypes ?? []);

  useEffect(() => heading.current?.focus(), []);
  // After a refusal (the page's or the server's), the first field marked takes the focus.
  useEffect(() => {
    if (attempt === 0) return;
    document.querySelector<HTMLElement>(`[aria-labelledby="${headingId}"] [aria-invalid="true"]`)?.focus();
  }, [attempt]);
  // With no agent named (the list's ?agent=), a new schedule starts on the first.
  const firstAgent = list[0]?.id;
  useEffect(() => {
    if (creating && firstAgent && !list.some((a) => a.id === form.agentId)) setForm((held) => ({ ...held, agentId: firstAgent }));
  }, [creating, firstAgent]);
  // A new schedule starts with the chosen agent's first task type and an example payload.
  useEffect(() => {
    if (!creating || !agent) return;
    const first = taskTypes[0] ?? "";
    setForm((held) => (taskTypes.includes(held.type) ? held : { ...held, type: first, payload: examplePayload(first) }));
  }, [creating, agent?.id, taskTypes.join(",")]);

  const set = <K extends keyof Form>(name: K, value: Form[K], more: Partial<Form> = {}) => {
    setForm((held) => ({ ...held, [name]: value, ...more }));
    setShown((held) => ({ ...held, [name]: undefined }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setRefused(null);
    const checked = check(form, creating);
    setShown(checked.errors);
    setAttempt((n) => n + 1);
    if (!checked.task) return;
    const result = creating
      ? await create({
          input: {
            agentId: form.agentId,
            name: form.name.trim(),
            ...checked.timetable,
            timezone: form.timezone.trim(),
            task: checked.task,
            active: form.active,
          },
        })
      : await update({ id: schedule.id, input: patchOf(schedule, form, checked) });
    const saved = result.data ? ("createSchedule" in result.data ? result.data.createSchedule : result.data.updateSchedule) : null;
    if (saved) {
      onDone(saved);
      return;
    }
    const byField = fieldErrors(result.error, form.kind);
    if (byField) setShown(byField);
    else setRefused(result.error ?? null);
    setAttempt((n) => n + 1);
  };

  const title = creating ? "New schedule" : `Edit schedule ${schedule.name}`;
  const marked = Object.values(shown).some(Boolean);
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      {agents.fetching && !agents.data ? <Loading what="your agents" /> : null}
      <ErrorMessage error={agents.error} />
      {creating && agents.data && list.length === 0 ? (
        <p>
          Schedules start tasks on agents, and you have none yet. <Link to="/agents">Create an agent</Link> first.
        </p>
      ) : null}
      <form noValidate onSubmit={(event) => void submit(event)}>
        {creating ? (
          <SelectField label="Agent" hint="The agent each run's task is queued for." value={form.agentId} error={shown.agentId} onChange={(e) => set("agentId", e.target.value)}>
            {agent ? null : <option value="">Choose an agent</option>}
            {list.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.type})
              </option>
            ))}
          </SelectField>
        ) : (
          <p>
            Runs on agent <strong>{schedule.agent.name}</strong>.
          </p>
        )}
        <Field label="Name" maxLength={100} value={form.name} error={shown.name} onChange={(e) => set("name", e.target.value)} />
        <Timetable form={form} shown={shown} set={set} zonesId={zonesId} />
        <fieldset>
          <legend>The task each run queues</legend>
          <TaskFields form={form} shown={shown} set={set} taskTypes={taskTypes} />
        </fieldset>
        {creating ? (
          <Field
            label="Active"
            type="checkbox"
            hint="Untick to create it paused: nothing runs until it is resumed."
            checked={form.active}
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
            {busy ? "Saving…" : creating ? "Create schedule" : "Save changes"}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel<span className="visually-hidden">{creating ? " the new schedule" : " the changes"}</span>
          </button>
        </div>
      </form>
    </section>
  );
}

type Part = {
  form: Form;
  shown: Errors;
  set: <K extends keyof Form>(name: K, value: Form[K], more?: Partial<Form>) => void;
};

function Timetable({ form, shown, set, zonesId }: Part & { zonesId: string }) {
  const [zones] = useState(zoneNames);
  const choice = (kind: Form["kind"], label: ReactNode) => (
    <label className="choice">
      <input type="radio" name="kind" value={kind} checked={form.kind === kind} onChange={() => set("kind", kind)} /> {label}
    </label>
  );
  return (
    <fieldset>
      <legend>When it runs</legend>
      <div className="choices">
        {choice("cron", "On a timetable (cron)")}
        {choice("once", "Once")}
      </div>
      {form.kind === "cron" ? (
        <Field
          label="Cron expression"
          className="code"
          spellCheck={false}
          autoComplete="off"
          hint="Five fields: minute, hour, day of month, month, day of week. 0 9 * * 1-5 is 09:00 on weekdays; */15 * * * * every quarter hour."
          value={form.cron}
          error={shown.cron}
          onChange={(e) => set("cron", e.target.value)}
        />
      ) : (
        <Field
          label="Run at"
          type="datetime-local"
          hint="In the time zone below. A time already past runs at once."
          value={form.runAt}
          error={shown.runAt}
          onChange={(e) => set("runAt", e.target.value)}
        />
      )}
      <Field
        label="Time zone"
        list={zonesId}
        autoComplete="off"
        spellCheck={false}
        hint={form.kind === "cron" ? "An IANA name (Europe/Berlin, UTC): the cron expression is read in it, daylight saving included." : "An IANA name (Europe/Berlin, UTC)."}
        value={form.timezone}
        error={shown.timezone}
        onChange={(e) => set("timezone", e.target.value)}
      />
      <datalist id={zonesId}>
        {zones.map((zone) => (
          <option key={zone} value={zone} />
        ))}
      </datalist>
    </fieldset>
  );
}

function TaskFields({ form, shown, set, taskTypes }: Part & { taskTypes: readonly string[] }) {
  return (
    <>
      {taskTypes.length > 0 ? (
        <SelectField
          label="Task type"
          value={form.type}
          error={shown.type}
          onChange={(e) => set("type", e.target.value, { payload: examplePayload(e.target.value) })}
        >
          {taskTypes.includes(form.type) ? null : <option value={form.type}>{form.type || "Choose a task type"}</option>}
          {taskTypes.map((type) => (
            <option key={type} value={type}>
              {type}
            </option>
          ))}
        </SelectField>
      ) : (
        <Field label="Task type" hint="Enter a task type the agent handles." value={form.type} error={shown.type} onChange={(e) => set("type", e.target.value)} />
      )}
      <JsonEditor
        label="Payload (JSON)"
        hint="Given to the handler at each run; null for none."
        value={form.payload}
        rows={3}
        error={shown.payload}
        onChange={(text) => set("payload", text)}
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
          onChange={(e) => set("priority", e.target.value)}
        />
        <Field
          label="Retries"
          type="number"
          inputMode="numeric"
          min={0}
          max={20}
          step={1}
          hint="Further attempts after a failed one (0 to 20)."
          value={form.retries}
          error={shown.retries}
          onChange={(e) => set("retries", e.target.value)}
        />
        <Field
          label="Timeout (seconds)"
          type="number"
          inputMode="decimal"
          min={0}
          max={86400}
          step="any"
          hint="An attempt running longer fails. Empty: the server's default."
          value={form.timeoutSeconds}
          error={shown.timeoutSeconds}
          onChange={(e) => set("timeoutSeconds", e.target.value)}
        />
      </div>
    </>
  );
}
