/**
 * graphql-sse in distinct connections mode: each subscription is a POST /graphql with
 * `Accept: text/event-stream` and the bearer token in the Authorization header.
 */
import { test } from "node:test";

import { type Client, createClient } from "graphql-sse";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import { GRAPHQL_URL, TEST_TIMEOUT_MS } from "./env.js";
import { agentEventsFlow, dataOf, streamPromptFlow, type Subscribe } from "./flows.js";
import { signUp } from "./http.js";

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

function connect(token: string): Client {
  return createClient({
    url: GRAPHQL_URL,
    singleConnection: false,
    headers: { authorization: `Bearer ${token}` },
    // A refused or dropped stream fails the flow instead of being retried.
    retryAttempts: 0,
  });
}

function subscriptions(client: Client): Subscribe {
  return <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ) => dataOf(client.iterate<TResult>({ query: print(document), variables }));
}

test("graphql-sse: agentEvents delivers the event of a sendCommand", TIMEOUT, async (t) => {
  const token = await signUp("sse-events");
  const client = connect(token);
  t.after(() => client.dispose());
  await agentEventsFlow(subscriptions(client), token, "sse");
});

test("graphql-sse: streamPrompt streams its chunks one by one until done", TIMEOUT, async (t) => {
  const token = await signUp("sse-stream");
  const client = connect(token);
  t.after(() => client.dispose());
  await streamPromptFlow(subscriptions(client), token, "sse");
});
