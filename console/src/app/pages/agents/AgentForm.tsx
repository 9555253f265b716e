/**
 * Create or edit an agent: name, type (when creating), capabilities, and the configuration
 * form generated from the type's configSchema (schemaForm.tsx).
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage, describeError, errorCode } from "../../errors";
import { Field, Loading, SelectField } from "../../ui";
import { SchemaFields, asSchema, buildConfiguration, initialState, type SchemaFormState } from "./schemaForm";

export const AgentTypesQuery = graphql(`
  query ConsoleAgentTypes {
    agentTypes {
      name
      description
      configSchema
      taskTypes
    }
  }
`);

const CreateAgentMutation = graphql(`
  mutation ConsoleCreateAgent($input: AgentConfigInput!) {
    createAgent(input: $input) {
      id
      name
      type
      state
      capabilities
      updatedAt
    }
  }
`);

const UpdateAgentMutation = graphql(`
  mutation ConsoleUpdateAgent($id: ID!, $input: AgentConfigPatch!) {
    updateAgent(id: $id, input: $input) {
      id
      name
      state
      capabilities
      updatedAt
    }
  }
`);

const AgentConfigurationQuery = graphql(`
  query ConsoleAgentConfiguration($id: ID!) {
    agent(id: $id) {
      id
      configuration
    }
  }
`);

export type EditedAgent = { id: string; name: string; type: string; capabilities: readonly string[] };

type Props = {
  /** The agent to edit; none creates one. */
  agent?: EditedAgent;
  onDone: (agentId: string | null) => void;
};

function splitCapabilities(text: string): string[] {
  return [
    ...new Set(
      text
        .split(",")
        .map((c) => c.trim())
        .filter(Boolean),
    ),
  ];
}

export function AgentForm({ agent, onDone }: Props) {
  const editing = agent !== undefined;
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  const [types] = useQuery({ query: AgentTypesQuery, requestPolicy: "cache-first" });
  // What the agent's configuration holds now (edit): USER may not read it (config.read).
  const [stored] = useQuery({
    query: AgentConfigurationQuery,
    variables: { id: agent?.id ?? "" },
    pause: !editing,
    requestPolicy: "network-only",
  });
  const configForbidden = editing && errorCode(stored.error) === "FORBIDDEN";
  const storedConfig: unknown = stored.data?.agent?.configuration ?? {};

  const [name, setName] = useState(agent?.name ?? "");
  const [type, setType] = useState(agent?.type ?? "");
  const [capabilities, setCapabilities] = useState(agent?.capabilities.join(", ") ?? "");
  const [config, setConfig] = useState<SchemaFormState | null>(null);
  const [replaceConfig, setReplaceConfig] = useState(!editing);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [submitError, setSubmitError] = useState<CombinedError | null>(null);
  const [, createAgent] = useMutation(CreateAgentMutation);
  const [, updateAgent] = useMutation(UpdateAgentMutation);
  const [busy, setBusy] = useState(false);

  const agentTypes = types.data?.agentTypes ?? [];
  const chosen = agentTypes.find((t) => t.name === type);
  const schema = asSchema(chosen?.configSchema);

  useEffect(() => heading.current?.focus(), []);

  // A new type (or the stored configuration arriving) starts the generated form afresh.
  const storedReady = !editing || stored.data !== undefined || stored.error !== undefined;
  const storedKey = JSON.stringify(storedConfig);
  const chosenName = chosen?.name;
  useEffect(() => {
    if (!chosen || !storedReady) return;
    setConfig(initialState(asSchema(chosen.configSchema), editing && !configForbidden ? storedConfig : {}));
    setErrors({});
    // Only a new type or a new stored configuration resets what the user typed.
  }, [chosenName, storedReady, configForbidden, storedKey]);

  useEffect(() => {
    if (!editing && !type && agentTypes[0]) setType(agentTypes[0].name);
  }, [editing, type, agentTypes]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSubmitError(null);
    const found: Record<string, string> = {};
    const trimmed = name.trim();
    if (!trimmed) found.name = "Required.";
    else if ([...trimmed].length > 100) found.name = "At most 100 characters.";
    let configuration: Record<string, unknown> | undefined;
    if (config && (replaceConfig || !configForbidden)) {
      const built = buildConfiguration(schema, config, configForbidden ? {} : storedConfig);
      Object.assign(found, built.errors);
      configuration = built.configuration;
    }
    setErrors(found);
    if (Object.keys(found).length) {
      const first = document.querySelector<HTMLElement>(`[aria-labelledby="${headingId}"] [aria-invalid="true"]`);
      first?.focus();
      return;
    }
    setBusy(true);
    const caps = splitCapabilities(capabilities);
    if (editing) {
      const input = { name: trimmed, capabilities: caps, ...(configuration !== undefined && (replaceConfig || !configForbidden) ? { configuration } : {}) };
      const result = await updateAgent({ id: agent.id, input });
      setBusy(false);
      if (result.error) setSubmitError(result.error);
      else onDone(agent.id);
    } else {
      const result = await createAgent({ input: { name: trimmed, type, capabilities: caps, configuration: configuration ?? {} } });
      setBusy(false);
      if (result.error) setSubmitError(result.error);
      else onDone(result.data?.createAgent.id ?? null);
    }
  };

  const title = editing ? `Edit agent ${agent.name}` : "New agent";
  return (
    <section className="card" aria-labelledby={headingId}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      {types.fetching && !types.data ? <Loading what="agent types" /> : null}
      <ErrorMessage error={types.error} />
      <form noValidate onSubmit={(event) => void submit(event)}>
        <Field label="Name" name="name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} error={errors.name} />
        {editing ? (
          <p>
            Type: <strong>{agent.type}</strong>
          </p>
        ) : (
          <SelectField label="Type" name="type" value={type} onChange={(e) => setType(e.target.value)} hint={chosen?.description}>
            {agentTypes.map((t) => (
              <option key={t.name} value={t.name}>
                {t.name}
              </option>
            ))}
          </SelectField>
        )}
        <Field
          label="Capabilities"
          name="capabilities"
          value={capabilities}
          onChange={(e) => setCapabilities(e.target.value)}
          hint="Free-form tags, separated by commas."
        />
        <fieldset>
          <legend>Configuration{chosen ? ` of a ${chosen.name} agent` : ""}</legend>
          {configForbidden ? (
            <>
              <p className="notice">
                This agent's configuration cannot be shown to you ({describeError(stored.error)}). It stays as it is
                unless you replace it.
              </p>
              <Field label="Replace the configuration" type="checkbox" checked={replaceConfig} onChange={(e) => setReplaceConfig(e.target.checked)} />
            </>
          ) : null}
          {editing && !storedReady ? <Loading what="the configuration" /> : null}
          {chosen && config && (replaceConfig || !configForbidden) ? (
            <SchemaFields schema={schema} state={config} onChange={setConfig} errors={errors} stored={configForbidden ? {} : storedConfig} />
          ) : null}
          {editing && !configForbidden ? <ErrorMessage error={stored.error} /> : null}
        </fieldset>
        <ErrorMessage error={submitError} />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy || !chosen}>
            {busy ? "Saving…" : editing ? "Save changes" : "Create agent"}
          </button>
          <button type="button" onClick={() => onDone(null)}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}
