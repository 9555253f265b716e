/**
 * Files: upload (a progress bar per file, over XMLHttpRequest), the list with each file's
 * scan status and SHA-256 (filtered by agent and name and sorted by the server, growing with
 * "Load more", with the list's totalCount), download through a freshly signed URL, delete,
 * and search by meaning over the files' text with each passage's score.
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { CombinedError, useClient, useMutation, useQuery } from "urql";

import { graphql } from "../../gql";
import type { FileOrderField, FilesPageFileFragment, FilesPageSearchQuery, OrderDirection } from "../../gql/graphql";
import { freshAccessToken, refresh } from "../auth";
import { useConnection, useSettled } from "../connection";
import { ErrorMessage, errorCode } from "../errors";
import { useRoute } from "../router";
import { ConfirmButton, Field, LoadMore, Loading, Page, SelectField, countOf, formatBytes, formatTime } from "../ui";
import { Fact, Facts } from "./Facts";
import "./pages.css";
import { uploadFile, type UploadProgress } from "./upload";
import { SCAN_WORDS } from "./words";

graphql(`
  fragment FilesPageFile on File {
    id
    originalName
    size
    mimeType
    checksum
    scanStatus
    uploadedAt
    uploadedBy {
      id
      email
    }
    agent {
      id
      name
    }
  }
`);

const FilesQuery = graphql(`
  query FilesPageFiles($filter: FileFilter, $orderBy: FileOrder, $first: Int, $after: String) {
    files(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      edges {
        cursor
        node {
          ...FilesPageFile
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

// The agents to choose from, by name.
const AgentsQuery = graphql(`
  query FilesPageAgents {
    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          id
          name
        }
      }
    }
  }
`);

const UploadMutation = graphql(`
  mutation FilesPageUpload($file: Upload!, $agentId: ID) {
    uploadFile(file: $file, agentId: $agentId) {
      ...FilesPageFile
    }
  }
`);

const DownloadUrlQuery = graphql(`
  query FilesPageDownloadUrl($id: ID!) {
    file(id: $id) {
      id
      url
    }
  }
`);

const DeleteMutation = graphql(`
  mutation FilesPageDelete($id: ID!) {
    deleteFile(id: $id)
  }
`);

const SearchQuery = graphql(`
  query FilesPageSearch($query: String!, $agentId: ID, $limit: Int) {
    search(query: $query, agentId: $agentId, limit: $limit) {
      chunk
      score
      file {
        id
        originalName
      }
    }
  }
`);

type StoredFile = FilesPageFileFragment;
type AgentChoice = { id: string; name: string };

const PAGE_SIZE = 20;
/** The orders offered, as "FIELD DIRECTION"; the first is the server's own default. */
const ORDERS: readonly { value: `${FileOrderField} ${OrderDirection}`; words: string }[] = [
  { value: "UPLOADED_AT DESC", words: "Newest first" },
  { value: "UPLOADED_AT ASC", words: "Oldest first" },
  { value: "NAME ASC", words: "Name, A to Z" },
  { value: "SIZE DESC", words: "Largest first" },
];

export function FilesPage() {
  const [{ data: agentData }] = useQuery({ query: AgentsQuery });
  const agents = (agentData?.agents.edges ?? []).map((edge) => edge.node);
  const [listVersion, setListVersion] = useState(0);
  return (
    <Page title="Files">
      <UploadForm agents={agents} onUploaded={() => setListVersion((v) => v + 1)} />
      <FileList agents={agents} version={listVersion} onDeleted={() => setListVersion((v) => v + 1)} />
      <SearchForm agents={agents} />
    </Page>
  );
}

function AgentOptions({ agents, none }: { agents: readonly AgentChoice[]; none: string }) {
  return (
    <>
      <option value="">{none}</option>
      {agents.map((agent) => (
        <option key={agent.id} value={agent.id}>
          {agent.name}
        </option>
      ))}
    </>
  );
}

/* ------------------------------------------------------------------ upload */

type Upload = {
  key: number;
  name: string;
  size: number;
  progress: UploadProgress;
  phase: "waiting" | "sending" | "storing" | "done" | "failed" | "stopped";
  error: unknown;
  stored: StoredFile | null;
  abort: AbortController;
};

const PHASE_WORDS: Record<Upload["phase"], string> = {
  waiting: "Waiting for the uploads before it",
  sending: "Sending",
  storing: "Sent; the server is checking and storing it",
  done: "Uploaded",
  failed: "Not uploaded",
  stopped: "Stopped",
};

/** Sends a file, renewing the session's token once if the server says it has expired. */
async function sendFile(file: File, agentId: string | null, onProgress: (progress: UploadProgress) => void, signal: AbortSignal) {
  const send = (token: string | null) =>
    uploadFile({
      document: UploadMutation,
      variables: { agentId },
      file,
      token,
      onProgress,
      signal,
    });
  const token = await freshAccessToken();
  try {
    return await send(token);
  } catch (error) {
    if (!token || errorCode(error) !== "UNAUTHENTICATED") throw error;
    const renewed = await refresh(token);
    if (!renewed || renewed === token) throw error;
    return await send(renewed);
  }
}

function UploadForm({ agents, onUploaded }: { agents: readonly AgentChoice[]; onUploaded: () => void }) {
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [agentId, setAgentId] = useState("");
  const [chosen, setChosen] = useState<File[]>([]);
  const [missing, setMissing] = useState(false);
  const inputId = useId();
  const input = () => document.getElementById(inputId) as HTMLInputElement | null;
  const nextKey = useRef(1);
  const headingId = useId();
  const busy = uploads.some((u) => u.phase === "waiting" || u.phase === "sending" || u.phase === "storing");

  const change = (key: number, patch: Partial<Upload>) =>
    setUploads((held) => held.map((u) => (u.key === key ? { ...u, ...patch } : u)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (chosen.length === 0) {
      setMissing(true);
      input()?.focus();
      return;
    }
    setMissing(false);
    const batch: Upload[] = chosen.map((file) => ({
      key: nextKey.current++,
      name: file.name,
      size: file.size,
      progress: { loaded: 0, total: null },
      phase: "waiting",
      error: null,
      stored: null,
      abort: new AbortController(),
    }));
    const files = chosen;
    setUploads((held) => [...batch, ...held.filter((u) => u.phase !== "done")].slice(0, 20));
    setChosen([]);
    const field = input();
    if (field) field.value = "";
    // One at a time: each gets the connection's whole bandwidth and its own bar.
    for (const [index, file] of files.entries()) {
      const upload = batch[index];
      if (!upload) continue;
      if (upload.abort.signal.aborted) {
        change(upload.key, { phase: "stopped" });
        continue;
      }
      change(upload.key, { phase: "sending" });
      try {
        const data = await sendFile(
          file,
          agentId || null,
          (progress) => {
            const sent = progress.total !== null && progress.loaded >= progress.total;
            change(upload.key, { progress, phase: sent ? "storing" : "sending" });
          },
          upload.abort.signal,
        );
        change(upload.key, { phase: "done", stored: data.uploadFile, progress: { loaded: 1, total: 1 } });
        onUploaded();
      } catch (error) {
        const stopped = error instanceof DOMException && error.name === "AbortError";
        change(upload.key, { phase: stopped ? "stopped" : "failed", error: stopped ? null : error });
      }
    }
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Upload</h2>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <Field
          id={inputId}
          label="Files to upload"
          type="file"
          multiple
          hint="Text, PDF, JSON, PNG or JPEG (as the server allows); each is virus-scanned before it is stored."
          error={missing ? "Choose at least one file." : null}
          onChange={(event) => setChosen(Array.from(event.target.files ?? []))}
        />
        <SelectField label="For agent (optional)" value={agentId} onChange={(event) => setAgentId(event.target.value)}>
          <AgentOptions agents={agents} none="No agent" />
        </SelectField>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Uploading…" : chosen.length > 1 ? `Upload ${chosen.length} files` : "Upload"}
        </button>
      </form>
      {uploads.length > 0 ? (
        <ul className="uploads" aria-label="Uploads">
          {uploads.map((upload) => (
            <UploadItem key={upload.key} upload={upload} onStop={() => upload.abort.abort()} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function UploadItem({ upload, onStop }: { upload: Upload; onStop: () => void }) {
  const barId = useId();
  // XMLHttpRequest counts the whole multipart body (the file and a few hundred bytes of
  // GraphQL around it): its fraction, shown against the file's own size.
  const total = upload.progress.total;
  const fraction = total ? Math.min(1, upload.progress.loaded / total) : upload.phase === "done" ? 1 : 0;
  const sent = Math.round(fraction * upload.size);
  const active = upload.phase === "sending" || upload.phase === "storing" || upload.phase === "waiting";
  const amount = `${formatBytes(sent)} of ${formatBytes(upload.size)} (${Math.round(fraction * 100)} %)`;
  const stored = upload.phase === "done" && upload.stored ? ` — ${SCAN_WORDS[upload.stored.scanStatus].toLowerCase()}, stored as ${upload.stored.mimeType}.` : "";
  return (
    <li className="upload" data-phase={upload.phase}>
      <label htmlFor={barId}>Upload of {upload.name}</label>
      <progress id={barId} max={upload.size || 1} value={upload.size ? sent : fraction} aria-valuetext={`${PHASE_WORDS[upload.phase]}: ${amount}`} />
      <p className="muted">
        {/* Only the phase is announced as it changes, not every byte count. */}
        <span aria-live="polite">{PHASE_WORDS[upload.phase]}</span>
        {upload.phase === "failed" ? ` (${formatBytes(upload.size)})` : `: ${amount}`}
        {stored}
      </p>
      <ErrorMessage error={upload.error} />
      {active ? (
        <button type="button" onClick={onStop}>
          Stop<span className="visually-hidden"> the upload of {upload.name}</span>
        </button>
      ) : null}
    </li>
  );
}

/* ------------------------------------------------------------------ list */

function FileList({ agents, version, onDeleted }: { agents: readonly AgentChoice[]; version: number; onDeleted: () => void }) {
  // An agent's page links here with ?agent=<id>: its files first.
  const route = useRoute();
  const [agentId, setAgentId] = useState(() => route.query.get("agent") ?? "");
  const [nameFilter, setNameFilter] = useState("");
  const [order, setOrder] = useState<(typeof ORDERS)[number]["value"]>("UPLOADED_AT DESC");
  const name = useSettled(nameFilter.trim());
  const filtered = Boolean(agentId || name);
  const [field, direction] = order.split(" ") as [FileOrderField, OrderDirection];
  const list = useConnection(
    FilesQuery,
    { filter: filtered ? { agentId: agentId || null, nameContains: name || null } : null, orderBy: { field, direction } },
    (data) => data.files,
    PAGE_SIZE,
  );
  const headingId = useId();
  const refreshList = useRef(list.refresh);
  refreshList.current = list.refresh;

  useEffect(() => {
    if (version > 0) refreshList.current();
  }, [version]);

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Your files</h2>
      <form className="toolbar" role="search" aria-label="Filter files" onSubmit={(event) => event.preventDefault()}>
        <SelectField label="Show the files of" value={agentId} onChange={(event) => setAgentId(event.target.value)}>
          <AgentOptions agents={agents} none="Any agent, or none" />
          {agentId && agents.length > 0 && !agents.some((a) => a.id === agentId) ? <option value={agentId}>{agentId}</option> : null}
        </SelectField>
        <Field label="Name contains" type="search" maxLength={200} value={nameFilter} onChange={(event) => setNameFilter(event.target.value)} />
        <SelectField label="Order" value={order} onChange={(event) => setOrder(event.target.value as typeof order)}>
          {ORDERS.map((o) => (
            <option key={o.value} value={o.value}>
              {o.words}
            </option>
          ))}
        </SelectField>
        <button type="button" onClick={list.refresh} disabled={list.fetching}>
          Refresh<span className="visually-hidden"> the list of files</span>
        </button>
      </form>
      <ErrorMessage error={list.error} />
      {list.loading ? <Loading what="files" /> : null}
      {list.totalCount !== null ? (
        <p role="status" className="muted">
          {filtered
            ? `${list.totalCount === 1 ? "1 file matches" : `${list.totalCount} files match`} these filters`
            : `${countOf(list.totalCount, "file")} in all`}
        </p>
      ) : null}
      {list.totalCount === 0 ? <p className="muted">{filtered ? "No file matches these filters." : "No files yet."}</p> : null}
      {list.nodes.length > 0 ? (
        <ul className="cards" aria-label="Files" aria-busy={list.stale || undefined}>
          {list.nodes.map((file) => (
            <FileItem key={file.id} file={file} onDeleted={onDeleted} />
          ))}
        </ul>
      ) : null}
      <LoadMore
        what="files"
        shown={list.nodes.length}
        total={list.totalCount}
        hasNextPage={list.hasNextPage}
        grown={list.grown}
        loading={list.loadingMore}
        onMore={() => void list.loadMore()}
      />
    </section>
  );
}

/**
 * The signed download URL on this page's own origin. The server builds File.url on its
 * KAI_PUBLIC_URL, which a development server left on its default names another port than the
 * one it listens on; this console is always served by the server it talks to (it sends every
 * request to its own /graphql), and the signature covers only the file and the expiry, so the
 * same /files/ path and query here is the same signed download.
 */
function onThisOrigin(url: string): string {
  const signed = new URL(url, window.location.href);
  if (!signed.pathname.startsWith("/files/")) return signed.toString();
  return new URL(`${signed.pathname}${signed.search}`, window.location.origin).toString();
}

function FileItem({ file, onDeleted }: { file: StoredFile; onDeleted: () => void }) {
  const client = useClient();
  const [deleted, remove] = useMutation(DeleteMutation);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const [fetchingUrl, setFetchingUrl] = useState(false);
  const headingId = useId();

  /** A URL signed now (each expires within minutes), then the browser's own download. */
  const download = async () => {
    setDownloadError(null);
    setFetchingUrl(true);
    const result = await client.query(DownloadUrlQuery, { id: file.id }, { requestPolicy: "network-only" }).toPromise();
    setFetchingUrl(false);
    const url = result.data?.file?.url;
    if (!url) {
      setDownloadError(result.error ?? new CombinedError({ graphQLErrors: [{ message: "This file is gone.", extensions: { code: "NOT_FOUND" } }] }));
      return;
    }
    const link = document.createElement("a");
    link.href = onThisOrigin(url);
    link.download = file.originalName;
    link.rel = "noopener";
    document.body.append(link);
    link.click();
    link.remove();
  };

  return (
    <li className="card file" aria-labelledby={headingId}>
      <h3 id={headingId} className="file-name">
        {file.originalName}
      </h3>
      <Facts>
        <Fact term="Size">{formatBytes(file.size)}</Fact>
        <Fact term="Type">{file.mimeType}</Fact>
        <Fact term="Virus scan">{SCAN_WORDS[file.scanStatus]}</Fact>
        <Fact term="Uploaded">
          {formatTime(file.uploadedAt)} by {file.uploadedBy.email}
        </Fact>
        {file.agent ? <Fact term="Agent">{file.agent.name}</Fact> : null}
        <Fact term="SHA-256">
          <code className="checksum">{file.checksum}</code>
        </Fact>
      </Facts>
      <div className="actions">
        <button type="button" onClick={() => void download()} disabled={fetchingUrl}>
          Download<span className="visually-hidden"> {file.originalName}</span>
        </button>
        <ConfirmButton
          danger
          aria-label={`Delete ${file.originalName}`}
          question={`Delete ${file.originalName}? Its bytes and its search passages go too.`}
          onConfirm={async () => {
            const result = await remove({ id: file.id });
            if (!result.error) onDeleted();
          }}
        >
          Delete
        </ConfirmButton>
      </div>
      <ErrorMessage error={downloadError ?? deleted.error} />
    </li>
  );
}

/* ------------------------------------------------------------------ search */

type Hits = FilesPageSearchQuery["search"];

function SearchForm({ agents }: { agents: readonly AgentChoice[] }) {
  const client = useClient();
  const [text, setText] = useState("");
  const [agentId, setAgentId] = useState("");
  const [limit, setLimit] = useState("10");
  const [hits, setHits] = useState<{ query: string; hits: Hits } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [searching, setSearching] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const headingId = useId();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const query = text.trim();
    const count = Number(limit);
    if (query === "") return setProblem("Enter what to look for.");
    if (query.length > 1000) return setProblem("At most 1000 characters.");
    if (!Number.isInteger(count) || count < 1 || count > 50) return setProblem("Enter a whole number from 1 to 50.");
    setProblem(null);
    setSearching(true);
    const result = await client
      .query(SearchQuery, { query, agentId: agentId || null, limit: count }, { requestPolicy: "network-only" })
      .toPromise();
    setSearching(false);
    setError(result.error ?? null);
    setHits(result.data ? { query, hits: result.data.search } : null);
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Search your files</h2>
      <p className="hint">By meaning, over the text of your files; a file is searchable a few seconds after it is uploaded.</p>
      <form role="search" aria-labelledby={headingId} onSubmit={(event) => void submit(event)} noValidate>
        <Field
          label="Look for"
          type="search"
          maxLength={1000}
          value={text}
          error={problem && problem !== "Enter a whole number from 1 to 50." ? problem : null}
          onChange={(event) => setText(event.target.value)}
        />
        <div className="field-row">
          <SelectField label="In the files of" value={agentId} onChange={(event) => setAgentId(event.target.value)}>
            <AgentOptions agents={agents} none="Any agent, or none" />
          </SelectField>
          <Field
            label="At most"
            type="number"
            inputMode="numeric"
            min={1}
            max={50}
            step={1}
            hint="passages, 1 to 50"
            value={limit}
            error={problem === "Enter a whole number from 1 to 50." ? problem : null}
            onChange={(event) => setLimit(event.target.value)}
          />
        </div>
        <button type="submit" className="primary" disabled={searching}>
          {searching ? "Searching…" : "Search"}
        </button>
      </form>
      <ErrorMessage error={error} />
      {hits ? (
        <div aria-live="polite">
          {hits.hits.length === 0 ? (
            <p>Nothing in your files matches “{hits.query}”.</p>
          ) : (
            <ol className="hits" aria-label={`Passages matching “${hits.query}”`}>
              {hits.hits.map((hit, index) => (
                <li key={`${hit.file.id}-${index}`} className="card hit">
                  <p>
                    <strong className="file-name">{hit.file.originalName}</strong>{" "}
                    <span className="score">score {hit.score.toFixed(3)}</span>
                  </p>
                  <blockquote>{hit.chunk}</blockquote>
                </li>
              ))}
            </ol>
          )}
        </div>
      ) : null}
    </section>
  );
}
