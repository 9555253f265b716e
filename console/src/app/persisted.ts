/**
 * The console names each document by its id, never by its text. graphql-codegen lists every
 * graphql(`...`) document of src/ in the console's manifest (src/gql/persisted-documents.json,
 * shipped as kai/console/persisted-documents.json) and embeds each one's id in it as
 * `__meta__.hash`: `sha256:<hex>`, the SHA-256 of the listed text. The server this console is
 * built into always knows that manifest, with trusted documents on (where it runs nothing
 * else) or off, so the console needs no fallback to sending a text:
 *
 * - queries and mutations: urql's persistedExchange sends the hex as APQ's
 *   `extensions.persistedQuery.sha256Hash` (client.ts);
 * - subscriptions, over graphql-ws and graphql-sse: `documentId` (`namedRequest` below);
 * - an upload: `documentId` in the multipart `operations` (pages/upload.ts);
 * - the token refresh, sent with fetch: `documentId` in its JSON body (auth.ts).
 */
import type { DocumentNode } from "graphql";

const SHA256_ID = /^sha256:[0-9a-f]{64}$/;

/** The document's id in the console's manifest, `sha256:<hex>`. */
export function documentIdOf(document: DocumentNode): string {
  const hash = (document as { __meta__?: { hash?: unknown } }).__meta__?.hash;
  if (typeof hash !== "string" || !SHA256_ID.test(hash)) {
    throw new Error(`A document without its id in the manifest (run npm run codegen): ${JSON.stringify(hash)}`);
  }
  return hash;
}

/** The SHA-256 of the listed text, in hex: APQ's `sha256Hash`. */
export function sha256Of(document: DocumentNode): string {
  return documentIdOf(document).slice("sha256:".length);
}

/** The name of the document's operation. */
export function operationNameOf(document: DocumentNode): string | undefined {
  for (const definition of document.definitions) {
    if (definition.kind === "OperationDefinition") return definition.name?.value;
  }
  return undefined;
}

/** A request as graphql-ws and graphql-sse take it: `query` is there for graphql-ws, which
 * refuses to send a subscribe payload without a string `query`. */
export type NamedRequest = {
  readonly query: string;
  readonly documentId: string;
  readonly operationName?: string;
  readonly variables?: Record<string, unknown>;
  readonly extensions?: Record<string, unknown>;
  toJSON(): Record<string, unknown>;
};

/**
 * A subscription's request naming its document by `documentId`. Its JSON, which both
 * transports send each time they subscribe (again, after a drop), leaves the empty `query`
 * out and reads `variables()` at that moment (agentEvents resumes after the last seq held).
 */
export function namedRequest(
  document: DocumentNode,
  variables: () => Record<string, unknown> | undefined,
  extensions?: Record<string, unknown>,
): NamedRequest {
  const documentId = documentIdOf(document);
  const operationName = operationNameOf(document);
  return {
    query: "",
    documentId,
    operationName,
    get variables() {
      return variables();
    },
    extensions,
    toJSON: () => ({ documentId, operationName, variables: variables(), extensions }),
  };
}
