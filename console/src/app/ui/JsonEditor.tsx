/**
 * A textarea for a JSON value, validated as it is typed: `onChange` gets the text and the
 * parsed value (or undefined while the text does not parse, with the parser's message shown).
 * `requireObject` refuses anything but a JSON object. `error` is one found elsewhere (a server's
 * refusal of the value), shown in place of the parser's.
 */
import { useId, useState } from "react";

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJson(text: string, requireObject = false): JsonParse {
  if (text.trim() === "") return requireObject ? { ok: true, value: {} } : { ok: false, error: "Enter a JSON value." };
  try {
    const value: unknown = JSON.parse(text);
    if (requireObject && (typeof value !== "object" || value === null || Array.isArray(value))) {
      return { ok: false, error: 'Enter a JSON object, like {"n": 1}.' };
    }
    return { ok: true, value };
  } catch (error) {
    return { ok: false, error: `Not valid JSON: ${error instanceof Error ? error.message : String(error)}` };
  }
}

type Props = {
  label: string;
  value: string;
  onChange: (text: string, parsed: JsonParse) => void;
  requireObject?: boolean;
  hint?: string;
  rows?: number;
  name?: string;
  error?: string | null;
};

export function JsonEditor({ label, value, onChange, requireObject = false, hint, rows = 4, name, error: given }: Props) {
  const id = useId();
  const [touched, setTouched] = useState(false);
  const parsed = parseJson(value, requireObject);
  const error = given || (touched && !parsed.ok ? parsed.error : null);
  const described = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea
        id={id}
        name={name}
        className="code"
        rows={rows}
        spellCheck={false}
        value={value}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        onChange={(event) => {
          setTouched(true);
          onChange(event.target.value, parseJson(event.target.value, requireObject));
        }}
        onBlur={() => setTouched(true)}
      />
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
