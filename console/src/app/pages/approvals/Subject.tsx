/**
 * What an approval would let run, for a person to read before deciding: a command's name and
 * parameters, a task's type, options and payload, or what a remote agent's process asked. A
 * flat object reads as a list of names and values; anything deeper as indented JSON. Every
 * value is shown as text (a remote process wrote it).
 */
import { formatJson } from "../../ui";
import { Fact, Facts } from "../Facts";
import type { Approval } from "./documents";
import { durationWords } from "./words";

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FLAT_MAX = 20;

function scalarText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** A JSON value as a person reads it: "none" for nothing, names and values for a flat object. */
export function JsonValue({ value, label }: { value: unknown; label: string }) {
  if (value === null || value === undefined || (isObject(value) && Object.keys(value).length === 0)) {
    return <p className="muted">{label}: none.</p>;
  }
  const entries = isObject(value) ? Object.entries(value) : [];
  const flat = entries.length > 0 && entries.length <= FLAT_MAX && entries.every(([, v]) => !isObject(v) && !Array.isArray(v));
  if (flat) {
    return (
      <div className="subject-values">
        <p className="subject-label">{label}</p>
        <dl className="values">
          {entries.map(([name, v]) => (
            <div key={name}>
              <dt>{name}</dt>
              <dd>
                <code>{scalarText(v)}</code>
              </dd>
            </div>
          ))}
        </dl>
      </div>
    );
  }
  if (!isObject(value) && !Array.isArray(value)) {
    return (
      <p>
        {label}: <code>{scalarText(value)}</code>
      </p>
    );
  }
  return (
    <div className="subject-values">
      <p className="subject-label">{label}</p>
      <pre className="code">{formatJson(value)}</pre>
    </div>
  );
}

function CommandSubject({ subject }: { subject: Json }) {
  return (
    <>
      <Facts>
        <Fact term="Command">
          <code>{scalarText(subject.command)}</code>
        </Fact>
      </Facts>
      <JsonValue value={subject.params} label="Parameters" />
    </>
  );
}

function TaskSubject({ subject }: { subject: Json }) {
  const retries = typeof subject.retries === "number" ? subject.retries : 0;
  const timeout = typeof subject.timeoutSeconds === "number" ? subject.timeoutSeconds : null;
  return (
    <>
      <Facts>
        <Fact term="Task type">
          <code>{scalarText(subject.type)}</code>
        </Fact>
        <Fact term="Priority">{scalarText(subject.priority ?? 0)}</Fact>
        <Fact term="Retries">{retries === 0 ? "none" : String(retries)}</Fact>
        <Fact term="Timeout per attempt">{timeout === null ? "the server's default" : durationWords(timeout)}</Fact>
      </Facts>
      <JsonValue value={subject.payload} label="Payload" />
    </>
  );
}

export function Subject({ approval }: { approval: Pick<Approval, "kind" | "subject"> }) {
  const subject = approval.subject;
  if (approval.kind === "COMMAND" && isObject(subject)) return <CommandSubject subject={subject} />;
  if (approval.kind === "TASK" && isObject(subject)) return <TaskSubject subject={subject} />;
  return <JsonValue value={subject} label={approval.kind === "ACTION" ? "What it asks" : "What would run"} />;
}
