/**
 * Trusted documents. graphql-codegen's client preset (persistedDocuments, codegen.ts) lists
 * every graphql(`...`) document of src/ in src/gql/persisted-documents.json, id -> text, and
 * embeds each document's id in it as `__meta__.hash`. The server under test runs with that
 * manifest (KAI_TRUSTED_DOCUMENTS) and runs nothing else: every client here names its
 * documents by id or by hash, never by text, and records what it sent to prove it.
 */
import assert from "node:assert/strict";

import type { DocumentNode } from "graphql";

const SHA256_ID = /^sha256:([0-9a-f]{64})$/;

/**
 * A document's id in the manifest: `sha256:<hex>`, the GraphQL-over-HTTP persisted documents
 * appendix's "SHA256 hex document identifier" of the listed text.
 */
export function documentIdOf(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== "string" || !SHA256_ID.test(hash)) {
    throw new Error(`a document without a sha256 id (run codegen): ${JSON.stringify(hash)}`);
  }
  return hash;
}

/** Its bare hex: the SHA-256 of the listed text, what APQ's `sha256Hash` carries. */
export function sha256Of(document: DocumentNode): string {
  return documentIdOf(document).slice("sha256:".length);
}

/** What a client sent: the JSON body, multipart `operations`, or GET parameters. */
export type Sent = Record<string, unknown>;

/** The request `init` describes, as the server reads it; null for a body of another kind. */
function sentOf(input: string | URL | Request, init: RequestInit | undefined): Sent | null {
  const body = init?.body;
  if (typeof body === "string") {
    return JSON.parse(body) as Sent;
  }
  if (body instanceof FormData) {
    const operations = body.get("operations");
    return typeof operations === "string" ? (JSON.parse(operations) as Sent) : null;
  }
  if (body == null) {
    const url = new URL(input instanceof Request ? input.url : input);
    const sent: Sent = {};
    for (const [name, value] of url.searchParams) {
      sent[name] = name === "variables" || name === "extensions" ? JSON.parse(value) : value;
    }
    return sent;
  }
  return null;
}

/** A fetch (for a client's `fetch` option) that records in `sent` each request it sends. */
export function recordingFetch(sent: Sent[]): typeof fetch {
  return (input, init) => {
    const request = sentOf(input, init);
    assert.ok(request !== null, `a request body of another kind: ${String(init?.body)}`);
    sent.push(request);
    return fetch(input, init);
  };
}

export type Naming = "documentId" | "sha256Hash";

/** How a request named its document; fails if it sent a document's text. */
export function namingOf(sent: Sent): Naming {
  assert.equal(sent["query"], undefined, `a document sent as text: ${JSON.stringify(sent)}`);
  if (typeof sent["documentId"] === "string") {
    assert.match(sent["documentId"], SHA256_ID);
    return "documentId";
  }
  const extensions = sent["extensions"] as { persistedQuery?: { sha256Hash?: unknown } };
  const hash = extensions?.persistedQuery?.sha256Hash;
  assert.ok(typeof hash === "string", `no document named: ${JSON.stringify(sent)}`);
  assert.match(hash, /^[0-9a-f]{64}$/);
  return "sha256Hash";
}

/** Every request named its document the one way expected, none by its text. */
export function assertAllNamedBy(sent: readonly Sent[], naming: Naming): void {
  assert.ok(sent.length > 0, "no request was recorded");
  assert.deepEqual(
    sent.map(namingOf),
    sent.map(() => naming),
  );
}
