/**
 * A labelled form control: <label> bound to its input, an optional hint and an error, both
 * tied to the input with aria-describedby (and aria-invalid when there is an error).
 */
import { useId, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes, type TextareaHTMLAttributes } from "react";

type Common = { label: ReactNode; hint?: ReactNode; error?: string | null };

function describedBy(hintId: string, errorId: string, hint: ReactNode, error: string | null | undefined) {
  const ids = [hint ? hintId : null, error ? errorId : null].filter(Boolean);
  return ids.length ? ids.join(" ") : undefined;
}

function Wrap({ id, label, hint, error, children, inline }: Common & { id: string; children: ReactNode; inline?: boolean }) {
  return (
    <div className={inline ? "field field-inline" : "field"}>
      {inline ? children : null}
      <label htmlFor={id}>{label}</label>
      {inline ? null : children}
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
      {error ? (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** <Field label="Email" type="email" value=… onChange=… />: an <input> with its label. */
export function Field({ label, hint, error, id, ...input }: Common & InputHTMLAttributes<HTMLInputElement>) {
  const auto = useId();
  const inputId = id ?? auto;
  const checkbox = input.type === "checkbox";
  return (
    <Wrap id={inputId} label={label} hint={hint} error={error} inline={checkbox}>
      <input
        id={inputId}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${inputId}-hint`, `${inputId}-error`, hint, error)}
        {...input}
      />
    </Wrap>
  );
}

/** A <select> with its label. */
export function SelectField({ label, hint, error, id, children, ...select }: Common & SelectHTMLAttributes<HTMLSelectElement>) {
  const auto = useId();
  const selectId = id ?? auto;
  return (
    <Wrap id={selectId} label={label} hint={hint} error={error}>
      <select
        id={selectId}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${selectId}-hint`, `${selectId}-error`, hint, error)}
        {...select}
      >
        {children}
      </select>
    </Wrap>
  );
}

/** A <textarea> with its label. */
export function TextAreaField({ label, hint, error, id, ...area }: Common & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const auto = useId();
  const areaId = id ?? auto;
  return (
    <Wrap id={areaId} label={label} hint={hint} error={error}>
      <textarea
        id={areaId}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy(`${areaId}-hint`, `${areaId}-error`, hint, error)}
        {...area}
      />
    </Wrap>
  );
}
