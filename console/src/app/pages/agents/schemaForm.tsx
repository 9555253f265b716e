/**
 * A form generated from an agent type's `configSchema` (JSON Schema, as `agentTypes` returns
 * it): each property of type string, number, integer or boolean, each `enum`, and each array
 * of strings becomes a labelled control with the schema's checks (required, minimum/maximum,
 * minLength/maxLength, pattern, uniqueItems...). Whatever the form cannot draw (nested
 * objects, and any key at all when the schema allows additional properties) is edited as a
 * JSON object beside it, so that no configuration is out of reach.
 *
 * Secrets (keys named like *key, *secret, *token, *password) are password inputs; the API
 * never returns them ("[redacted]"), and sending that marker back keeps the stored value.
 */
import { useId } from "react";

import { Field, JsonEditor, SelectField, TextAreaField, formatJson, parseJson } from "../../ui";

export const REDACTED = "[redacted]";

export type JsonSchema = {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  items?: JsonSchema;
  uniqueItems?: boolean;
  minItems?: number;
  maxItems?: number;
};

type Kind = "string" | "secret" | "number" | "integer" | "boolean" | "enum" | "string-list";

export type SchemaField = {
  readonly key: string;
  readonly kind: Kind;
  readonly schema: JsonSchema;
  readonly required: boolean;
};

/** Form values: the text of each input (a checkbox: a boolean), keyed by property. */
export type FormValues = Record<string, string | boolean>;

export type SchemaFormState = {
  values: FormValues;
  /** The JSON text of what the fields do not cover. */
  extra: string;
};

const SECRET_KEY = /(key|secret|token|password)$/i;

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((t) => t !== "null");
  return schema.type;
}

function kindOf(key: string, schema: JsonSchema): Kind | null {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum.every((v) => ["string", "number", "boolean"].includes(typeof v)) ? "enum" : null;
  }
  switch (typeOf(schema)) {
    case "string":
      return SECRET_KEY.test(key) ? "secret" : "string";
    case "number":
      return "number";
    case "integer":
      return "integer";
    case "boolean":
      return "boolean";
    case "array":
      return schema.items && typeOf(schema.items) === "string" && !schema.items.enum ? "string-list" : null;
    default:
      return null;
  }
}

export function asSchema(value: unknown): JsonSchema {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as JsonSchema) : {};
}

/** The fields the form draws for `schema`, in the schema's order. */
export function schemaFields(schema: JsonSchema): SchemaField[] {
  const required = new Set(schema.required ?? []);
  const fields: SchemaField[] = [];
  for (const [key, property] of Object.entries(schema.properties ?? {})) {
    const kind = kindOf(key, property);
    if (kind) fields.push({ key, kind, schema: property, required: required.has(key) });
  }
  return fields;
}

/** Whether keys beyond the drawn fields may be set (then the form offers a JSON editor). */
export function allowsExtra(schema: JsonSchema): boolean {
  const drawn = new Set(schemaFields(schema).map((f) => f.key));
  const undrawn = Object.keys(schema.properties ?? {}).some((key) => !drawn.has(key));
  return undrawn || schema.additionalProperties !== false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The form's starting state: `configuration`'s values (an existing agent's), else defaults. */
export function initialState(schema: JsonSchema, configuration: unknown = {}): SchemaFormState {
  const config = isObject(configuration) ? configuration : {};
  const values: FormValues = {};
  const fields = schemaFields(schema);
  for (const field of fields) {
    const value = field.key in config ? config[field.key] : field.schema.default;
    if (field.kind === "boolean") values[field.key] = value === true;
    else if (field.kind === "secret") values[field.key] = ""; // never shown; REDACTED kept on submit
    else if (field.kind === "string-list") values[field.key] = Array.isArray(value) ? value.map(String).join("\n") : "";
    else if (field.kind === "enum") values[field.key] = value === undefined ? "" : JSON.stringify(value);
    else values[field.key] = value === undefined || value === null ? "" : String(value);
  }
  const drawn = new Set(fields.map((f) => f.key));
  const extra = Object.fromEntries(Object.entries(config).filter(([key]) => !drawn.has(key)));
  return { values, extra: Object.keys(extra).length ? formatJson(extra) : "" };
}

function checkString(text: string, schema: JsonSchema): string | null {
  const length = [...text].length;
  if (schema.minLength !== undefined && length < schema.minLength) return `At least ${schema.minLength} characters.`;
  if (schema.maxLength !== undefined && length > schema.maxLength) return `At most ${schema.maxLength} characters.`;
  if (schema.pattern) {
    let pattern: RegExp | null = null;
    try {
      pattern = new RegExp(schema.pattern, "u");
    } catch {
      pattern = null; // a pattern this browser cannot read: the server checks it
    }
    if (pattern && !pattern.test(text)) return "Not in the expected form.";
  }
  return null;
}

function checkNumber(value: number, schema: JsonSchema, integer: boolean): string | null {
  if (!Number.isFinite(value)) return "Enter a number.";
  if (integer && !Number.isInteger(value)) return "Enter a whole number.";
  if (schema.minimum !== undefined && value < schema.minimum) return `At least ${schema.minimum}.`;
  if (schema.maximum !== undefined && value > schema.maximum) return `At most ${schema.maximum}.`;
  if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return `More than ${schema.exclusiveMinimum}.`;
  if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) return `Less than ${schema.exclusiveMaximum}.`;
  return null;
}

export type Built = { configuration: Record<string, unknown>; errors: Record<string, string> };

/**
 * The configuration the form describes, and an error per field that does not satisfy the
 * schema (key "" for the JSON of the other settings). `stored` is the agent's configuration as
 * the API returned it: a secret left empty keeps its stored value.
 */
export function buildConfiguration(schema: JsonSchema, state: SchemaFormState, stored: unknown = {}): Built {
  const errors: Record<string, string> = {};
  const storedConfig = isObject(stored) ? stored : {};
  let configuration: Record<string, unknown> = {};
  if (allowsExtra(schema)) {
    const parsed = parseJson(state.extra, true);
    if (parsed.ok) configuration = { ...(parsed.value as Record<string, unknown>) };
    else errors[""] = parsed.error;
  }
  for (const field of schemaFields(schema)) {
    const raw = state.values[field.key];
    const text = typeof raw === "string" ? raw.trim() : "";
    delete configuration[field.key];
    switch (field.kind) {
      case "boolean":
        if (raw === true || field.required || field.schema.default !== undefined) configuration[field.key] = raw === true;
        continue;
      case "secret":
        if (text === "" && storedConfig[field.key] === REDACTED) {
          configuration[field.key] = REDACTED;
          continue;
        }
        break;
      default:
        break;
    }
    if (text === "") {
      if (field.required) errors[field.key] = "Required.";
      continue;
    }
    let problem: string | null = null;
    switch (field.kind) {
      case "string":
      case "secret":
        problem = checkString(typeof raw === "string" ? raw : "", field.schema);
        configuration[field.key] = raw;
        break;
      case "number":
      case "integer": {
        const value = Number(text);
        problem = checkNumber(value, field.schema, field.kind === "integer");
        configuration[field.key] = value;
        break;
      }
      case "enum":
        configuration[field.key] = JSON.parse(text) as unknown;
        break;
      case "string-list": {
        const items = text
          .split("\n")
          .map((line) => line.trim())
          .filter(Boolean);
        const item = field.schema.items ?? {};
        problem = items.map((value) => checkString(value, item)).find(Boolean) ?? null;
        if (!problem && field.schema.uniqueItems && new Set(items).size !== items.length) problem = "Each line must differ.";
        if (!problem && field.schema.maxItems !== undefined && items.length > field.schema.maxItems) {
          problem = `At most ${field.schema.maxItems} lines.`;
        }
        if (!problem && field.schema.minItems !== undefined && items.length < field.schema.minItems) {
          problem = `At least ${field.schema.minItems} lines.`;
        }
        configuration[field.key] = items;
        break;
      }
      default:
        break;
    }
    if (problem) errors[field.key] = problem;
  }
  return { configuration, errors };
}

function label(field: SchemaField): string {
  const name = field.schema.title ?? field.key;
  return field.required ? `${name} (required)` : name;
}

function hint(field: SchemaField, stored: unknown): string | undefined {
  const parts: string[] = [];
  if (field.schema.description) parts.push(field.schema.description);
  const range: string[] = [];
  if (field.schema.minimum !== undefined) range.push(`at least ${field.schema.minimum}`);
  if (field.schema.maximum !== undefined) range.push(`at most ${field.schema.maximum}`);
  if (range.length) parts.push(`${range.join(", ")}.`);
  if (field.kind === "string-list") parts.push("One per line.");
  if (field.kind === "secret") {
    parts.push(
      isObject(stored) && stored[field.key] === REDACTED
        ? "A value is stored (never shown): leave empty to keep it."
        : "Never shown again once saved.",
    );
  }
  return parts.length ? parts.join(" ") : undefined;
}

type Props = {
  schema: JsonSchema;
  state: SchemaFormState;
  onChange: (state: SchemaFormState) => void;
  errors: Record<string, string>;
  /** The configuration as stored (for secrets' hints). */
  stored?: unknown;
  disabled?: boolean;
};

/** The generated controls for `schema` (no <form>: the caller's form holds them). */
export function SchemaFields({ schema, state, onChange, errors, stored = {}, disabled }: Props) {
  const idBase = useId();
  const fields = schemaFields(schema);
  const set = (key: string, value: string | boolean) => onChange({ ...state, values: { ...state.values, [key]: value } });
  return (
    <>
      {fields.map((field) => {
        const id = `${idBase}-${field.key}`;
        const value = state.values[field.key];
        const text = typeof value === "string" ? value : "";
        const common = { id, label: label(field), hint: hint(field, stored), error: errors[field.key] ?? null, disabled };
        switch (field.kind) {
          case "boolean":
            return (
              <Field key={field.key} {...common} type="checkbox" checked={value === true} onChange={(e) => set(field.key, e.target.checked)} />
            );
          case "enum":
            return (
              <SelectField key={field.key} {...common} value={text} onChange={(e) => set(field.key, e.target.value)}>
                {field.required ? null : <option value="">(not set)</option>}
                {(field.schema.enum ?? []).map((option) => (
                  <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
                    {String(option)}
                  </option>
                ))}
              </SelectField>
            );
          case "string-list":
            return <TextAreaField key={field.key} {...common} rows={3} value={text} onChange={(e) => set(field.key, e.target.value)} />;
          case "number":
          case "integer":
            return (
              <Field
                key={field.key}
                {...common}
                type="number"
                inputMode={field.kind === "integer" ? "numeric" : "decimal"}
                step={field.kind === "integer" ? 1 : "any"}
                min={field.schema.minimum}
                max={field.schema.maximum}
                value={text}
                onChange={(e) => set(field.key, e.target.value)}
              />
            );
          case "secret":
            return (
              <Field key={field.key} {...common} type="password" autoComplete="off" value={text} onChange={(e) => set(field.key, e.target.value)} />
            );
          default:
            return (
              <Field
                key={field.key}
                {...common}
                type={/url$/i.test(field.key) ? "url" : "text"}
                value={text}
                onChange={(e) => set(field.key, e.target.value)}
              />
            );
        }
      })}
      {allowsExtra(schema) ? (
        <JsonEditor
          label={fields.length ? "Other settings (JSON object)" : "Configuration (JSON object)"}
          value={state.extra}
          requireObject
          rows={3}
          hint={schema.description ?? "Keys beyond the fields above; leave empty for none."}
          onChange={(extra) => onChange({ ...state, extra })}
        />
      ) : null}
      {errors[""] ? <p className="field-error">{errors[""]}</p> : null}
    </>
  );
}
