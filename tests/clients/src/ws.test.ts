/** graphql-ws (graphql-transport-ws) over a real WebSocket (the `ws` package). */
import { test } from "node:test";

import { type Client, createClient } from "graphql-ws";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import WebSocket from "ws";

import { TEST_TIMEOUT_MS, WS_URL } from "./env.js";
import { agentEventsFlow, dataOf, streamPromptFlow, type Subscribe } from "./flows.js";
import { signUp } from "./http.js";

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

function connect(token: string): Client {
  return createClient({
    url: WS_URL,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    // A refused or dropped socket fails the flow instead of being retried.
    retryAttempts: 0,
  });
}

function subscriptions(client: Client): Subscribe {
  return <TResult, TVariables extends Record<string, unknown>>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
  ) => dataOf(client.iterate<TResult>({ query: print(document), variables }));
}

test("graphql-ws: agentEvents delivers the event of a sendCommand", TIMEOUT, async (t) => {
  const token = await signUp("ws-events");
  const client = connect(token);
  t.after(() => client.dispose());
  await agentEventsFlow(subscriptions(client), token, "ws");
});

test("graphql-ws: streamPrompt streams its chunks one by one until done", TIMEOUT, async (t) => {
  const token = await signUp("ws-stream");
  const client = connect(token);
  t.after(() => client.dispose());
  await streamPromptFlow(subscriptions(client), token, "ws");
});
