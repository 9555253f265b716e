/**
 * The signed-in user's API keys: the list (the revoked ones only when asked for, growing
 * with "Load more", with the list's totalCount), a new key (its secret shown this once,
 * with a copy button: only a hash is stored), and revoking one.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useClient, useMutation, useQuery } from "urql";

import { graphql } from "../../gql";
import type { ApiKeysPageKeyFragment } from "../../gql/graphql";
import { useConnection } from "../connection";
import { ErrorMessage } from "../errors";
import { useSession } from "../session";
import { ConfirmButton, Field, LoadMore, Loading, Page, countOf, formatTime } from "../ui";
import { Fact, Facts } from "./Facts";
import "./pages.css";

graphql(`
  fragment ApiKeysPageKey on ApiKey {
    id
    name
    prefix
    permissions
    agentIds
    createdAt
    expiresAt
    lastUsedAt
    active
  }
`);

const KeysQuery = graphql(`
  query ApiKeysPageKeys($includeRevoked: Boolean, $first: Int, $after: String) {
    apiKeys(includeRevoked: $includeRevoked, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...ApiKeysPageKey
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
      totalCount
    }
  }
`);

// The caller's own agents, by name: what a key can be limited to, and the names of the
// agents the listed keys are limited to.
const OwnAgentsQuery = graphql(`
  query ApiKeysPageAgents($ownerId: ID!) {
    agents(filter: { ownerId: $ownerId }, orderBy: { field: NAME, direction: ASC }, first: 500) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const CreateMutation = graphql(`
  mutation ApiKeysPageCreate($input: ApiKeyInput!) {
    createApiKey(input: $input) {
      secret
      apiKey {
        ...ApiKeysPageKey
      }
    }
  }
`);

const RevokeMutation = graphql(`
  mutation ApiKeysPageRevoke($id: ID!) {
    revokeApiKey(id: $id) {
      ...ApiKeysPageKey
    }
  }
`);

type ApiKey = ApiKeysPageKeyFragment;
type Agent = { id: string; name: string };

const PAGE_SIZE = 20;

export function ApiKeysPage() {
  const session = useSession();
  const ownerId = session.user?.id ?? "";
  const [{ data: agentData }] = useQuery({ query: OwnAgentsQuery, variables: { ownerId }, pause: !ownerId });
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const keys = useConnection(KeysQuery, { includeRevoked }, (data) => data.apiKeys, PAGE_SIZE);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const ownAgents = (agentData?.agents.edges ?? []).map((edge) => edge.node);
  const agentNames = new Map(ownAgents.map((agent) => [agent.id, agent.name]));
  const headingId = useId();
  const total = keys.totalCount;

  return (
    <Page title="API keys">
      <p>
        An API key works as a bearer token for programs, with at most your own rights, and can be narrowed to some
        permissions and agents. Keys are yours: these are the keys of {session.user?.email ?? "your account"}.
      </p>
      {created ? (
        <NewSecret name={created.name} secret={created.secret} onDone={() => setCreated(null)} />
      ) : (
        <CreateForm
          agents={ownAgents}
          permissions={session.permissions ?? []}
          onCreated={(name, secret) => {
            setCreated({ name, secret });
            keys.refresh();
          }}
        />
      )}
      <section aria-labelledby={headingId}>
        <div className="toolbar">
          <h2 id={headingId}>Your keys</h2>
          <Field type="checkbox" label="Show revoked keys" checked={includeRevoked} onChange={(event) => setIncludeRevoked(event.target.checked)} />
        </div>
        <ErrorMessage error={keys.error} />
        {keys.loading ? <Loading what="API keys" /> : null}
        {total !== null ? (
          <p role="status" className="muted">
            {includeRevoked ? `${countOf(total, "key")} in all` : `${countOf(total, "key")} in all, not counting revoked ones`}
          </p>
        ) : null}
        {total === 0 ? <p className="muted">You have no API keys.</p> : null}
        {keys.nodes.length > 0 ? (
          <ul className="cards" aria-label="API keys" aria-busy={keys.stale || undefined}>
            {keys.nodes.map((key) => (
              <KeyItem key={key.id} apiKey={key} agentNames={agentNames} />
            ))}
          </ul>
        ) : null}
        <LoadMore
          what="keys"
          shown={keys.nodes.length}
          total={total}
          hasNextPage={keys.hasNextPage}
          grown={keys.grown}
          loading={keys.loadingMore}
          onMore={() => void keys.loadMore()}
        />
      </section>
    </Page>
  );
}

/* ------------------------------------------------------------------ creating */

function CreateForm({
  agents,
  permissions,
  onCreated,
}: {
  agents: readonly Agent[];
  permissions: readonly string[];
  onCreated: (name: string, secret: string) => void;
}) {
  const client = useClient();
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [scope, setScope] = useState<"all" | "some">("all");
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [agentIds, setAgentIds] = useState<ReadonlySet<string>>(new Set());
  const [problems, setProblems] = useState<{ name?: string; expires?: string }>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const headingId = useId();
  const scopeName = useId();

  const toggle = (set: ReadonlySet<string>, value: string, on: boolean) => {
    const next = new Set(set);
    if (on) next.add(value);
    else next.delete(value);
    return next;
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const found: typeof problems = {};
    const trimmed = name.trim();
    if (trimmed.length < 1 || trimmed.length > 100) found.name = "Name the key: 1 to 100 characters.";
    let expiresAt: string | null = null;
    if (expires) {
      // The end of the chosen day, in the reader's own time zone.
      const end = new Date(`${expires}T23:59:59`);
      if (Number.isNaN(end.getTime())) found.expires = "Enter a date.";
      else if (end.getTime() <= Date.now()) found.expires = "Choose a day from today on.";
      else expiresAt = end.toISOString();
    }
    setProblems(found);
    if (Object.keys(found).length > 0) return;
    setBusy(true);
    setError(null);
    // Imperative, not useMutation: the secret must not stay in any hook's state once shown.
    const result = await client
      .mutation(CreateMutation, {
        input: {
          name: trimmed,
          expiresAt,
          permissions: scope === "all" ? null : [...chosen],
          agentIds: agentIds.size > 0 ? [...agentIds] : null,
        },
      })
      .toPromise();
    setBusy(false);
    const made = result.data?.createApiKey;
    if (!made) {
      setError(result.error);
      return;
    }
    setName("");
    setExpires("");
    setChosen(new Set());
    setAgentIds(new Set());
    onCreated(made.apiKey.name, made.secret);
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>New API key</h2>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field label="Name" hint="What the key is for, 1 to 100 characters." maxLength={100} value={name} error={problems.name} onChange={(event) => setName(event.target.value)} required />
        <Field
          label="Expires on (optional)"
          type="date"
          hint="The key stops working at the end of that day. Empty: the server's default lifetime."
          value={expires}
          error={problems.expires}
          onChange={(event) => setExpires(event.target.value)}
        />
        <fieldset>
          <legend>Permissions</legend>
          <div className="field field-inline">
            <input id={`${scopeName}-all`} type="radio" name={scopeName} checked={scope === "all"} onChange={() => setScope("all")} />
            <label htmlFor={`${scopeName}-all`}>All of mine, now and as my role changes</label>
          </div>
          <div className="field field-inline">
            <input id={`${scopeName}-some`} type="radio" name={scopeName} checked={scope === "some"} onChange={() => setScope("some")} />
            <label htmlFor={`${scopeName}-some`}>Only those I choose (none chosen: a key with no permission)</label>
          </div>
          {scope === "some" ? (
            <div className="checks" role="group" aria-label="Permissions of the key">
              {permissions.map((permission) => (
                <Field
                  key={permission}
                  type="checkbox"
                  label={permission}
                  checked={chosen.has(permission)}
                  onChange={(event) => setChosen(toggle(chosen, permission, event.target.checked))}
                />
              ))}
            </div>
          ) : null}
        </fieldset>
        {agents.length > 0 ? (
          <fieldset>
            <legend>Agents (none chosen: any of your agents)</legend>
            <div className="checks">
              {agents.map((agent) => (
                <Field
                  key={agent.id}
                  type="checkbox"
                  label={agent.name}
                  checked={agentIds.has(agent.id)}
                  onChange={(event) => setAgentIds(toggle(agentIds, agent.id, event.target.checked))}
                />
              ))}
            </div>
          </fieldset>
        ) : null}
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </form>
    </section>
  );
}

function NewSecret({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"" | "copied" | "failed">("");
  const headingId = useId();
  const secretId = useId();
  const heading = useRef<HTMLHeadingElement>(null);

  // The one thing to act on now: focus goes to it.
  useEffect(() => heading.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };

  return (
    <section aria-labelledby={headingId} className="card secret">
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        Your new key “{name}”
      </h2>
      <p className="warning" role="alert">
        Copy it now and keep it somewhere safe: it is shown this once. kAI stores only a hash of it, so nobody can show it
        to you again; a lost key can only be revoked and replaced.
      </p>
      <div className="field">
        <label htmlFor={secretId}>The key</label>
        <input id={secretId} className="code" readOnly value={secret} onFocus={(event) => event.target.select()} />
      </div>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy the key
        </button>
        <button type="button" onClick={onDone}>
          I have stored it: hide it
        </button>
      </div>
      <p role="status" className="status">
        {copied === "copied" ? "Copied to the clipboard." : ""}
        {copied === "failed" ? "The browser would not let this page copy: select the key above and copy it yourself." : ""}
      </p>
    </section>
  );
}

/* ------------------------------------------------------------------ the list */

function permissionWords(permissions: readonly string[]): string {
  if (permissions.includes("*")) return "All of the owner's";
  if (permissions.length === 0) return "None";
  return permissions.join(", ");
}

function statusWords(key: ApiKey): string {
  if (key.active) return "Active";
  if (key.expiresAt && Date.parse(key.expiresAt) <= Date.now()) return "Expired";
  return "Revoked";
}

function KeyItem({ apiKey: listed, agentNames }: { apiKey: ApiKey; agentNames: ReadonlyMap<string, string> }) {
  const [revoked, revoke] = useMutation(RevokeMutation);
  const apiKey = revoked.data?.revokeApiKey ?? listed;
  const headingId = useId();
  return (
    <li className="card api-key" aria-labelledby={headingId} data-active={apiKey.active}>
      <h3 id={headingId}>{apiKey.name}</h3>
      <Facts>
        <Fact term="Begins with">
          <code>{apiKey.prefix}</code>
        </Fact>
        <Fact term="Status">{statusWords(apiKey)}</Fact>
        <Fact term="Permissions">{permissionWords(apiKey.permissions)}</Fact>
        <Fact term="Agents">
          {apiKey.agentIds ? apiKey.agentIds.map((id) => agentNames.get(id) ?? id).join(", ") || "None" : "Any of the owner's"}
        </Fact>
        <Fact term="Created">{formatTime(apiKey.createdAt)}</Fact>
        <Fact term="Expires">{apiKey.expiresAt ? formatTime(apiKey.expiresAt) : "never"}</Fact>
        <Fact term="Last used">{formatTime(apiKey.lastUsedAt)}</Fact>
      </Facts>
      {apiKey.active ? (
        <ConfirmButton
          danger
          aria-label={`Revoke ${apiKey.name}`}
          question={`Revoke “${apiKey.name}”? Programs using it are refused from now on; this cannot be undone.`}
          confirmLabel="Yes, revoke the key"
          onConfirm={() => revoke({ id: apiKey.id })}
        >
          Revoke
        </ConfirmButton>
      ) : null}
      <ErrorMessage error={revoked.error} />
    </li>
  );
}
