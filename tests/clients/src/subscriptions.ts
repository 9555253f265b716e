/**
 * The subscription transports' clients, naming each document by `documentId`, never by its
 * text: graphql-ws (graphql-transport-ws, over the `ws` package) in its subscribe payload,
 * graphql-sse (distinct connections mode) in its POST body, as a GraphQL-over-HTTP body does.
 */
import assert from "node:assert/strict";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import {
  type Client as SSEClient,
  createClient as createSSEClient,
  type RequestParams,
} from "graphql-sse";
import {
  type Client as WSClient,
  createClient as createWSClient,
  type SubscribePayload,
} from "graphql-ws";
import WebSocket from "ws";

import { GRAPHQL_URL, WS_URL } from "./env.js";
import { dataOf, type Subscribe } from "./flows.js";
import { documentIdOf, recordingFetch, type Sent } from "./persisted.js";

/**
 * graphql-ws's client checks that a subscribe payload's `query` is a string before it sends
 * it, so a payload that names its document by `documentId` carries this empty `query`,
 * which the client's JSON replacer (applied after that check) leaves out.
 */
const NO_TEXT = "";

function namesADocument(value: unknown): value is Sent {
  return typeof value === "object" && value !== null && "documentId" in value;
}

/** A graphql-ws client; each subscribe payload it sends is recorded in `sent`. */
export function connectWS(token: string, sent: Sent[] = []): WSClient {
  function withoutText(key: string, value: unknown): unknown {
    if (key === "payload" && namesADocument(value)) {
      const { query, ...payload } = value;
      assert.equal(query, NO_TEXT, "a payload with a documentId and a text");
      sent.push(payload);
      return payload;
    }
    return value;
  }
  return createWSClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    jsonMessageReplacer: withoutText,
    // A refused or dropped socket fails the flow instead of being retried.
    retryAttempts: 0,
  });
}

/** A graphql-transport-ws subscribe payload naming `documentId` (listed or not). */
export function wsPayload(
  documentId: string,
  variables: Record<string, unknown>,
): SubscribePayload {
  return { query: NO_TEXT, documentId, variables } as SubscribePayload;
}

export function wsSubscriptions(client: WSClient): Subscribe {
  return <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ) => dataOf(client.iterate<TResult>(wsPayload(documentIdOf(document), variables)));
}

/** A graphql-sse client; each request it sends is recorded in `sent`. */
export function connectSSE(token: string, sent: Sent[] = []): SSEClient {
  return createSSEClient({
    url: GRAPHQL_URL,
    singleConnection: false,
    headers: { authorization: `Bearer ${token}` },
    fetchFn: recordingFetch(sent),
    // A refused or dropped stream fails the flow instead of being retried.
    retryAttempts: 0,
  });
}

/**
 * A graphql-sse request naming `documentId` (listed or not). graphql-sse types `query` as
 * required, but sends the request as given: the body is `{documentId, variables}`.
 */
export function sseRequest(
  documentId: string,
  variables: Record<string, unknown>,
): RequestParams {
  return { documentId, variables } as unknown as RequestParams;
}

export function sseSubscriptions(client: SSEClient): Subscribe {
  return <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ) => dataOf(client.iterate<TResult>(sseRequest(documentIdOf(document), variables)));
}
