/**
 * graphql-sse in distinct connections mode: each subscription is a POST /graphql with
 * `Accept: text/event-stream`, the bearer token in the Authorization header, and its
 * document named by `documentId`.
 */
import { test } from "node:test";

import { TEST_TIMEOUT_MS } from "./env.js";
import { agentEventsFlow, streamPromptFlow } from "./flows.js";
import { signUp } from "./http.js";
import { assertAllNamedBy, type Sent } from "./persisted.js";
import { connectSSE, sseSubscriptions } from "./subscriptions.js";

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

test("graphql-sse: agentEvents delivers the event of a sendCommand", TIMEOUT, async (t) => {
  const token = await signUp("sse-events");
  const sent: Sent[] = [];
  const client = connectSSE(token, sent);
  t.after(() => client.dispose());
  await agentEventsFlow(sseSubscriptions(client), token, "sse");
  assertAllNamedBy(sent, "documentId");
});

test("graphql-sse: streamPrompt streams its chunks one by one until done", TIMEOUT, async (t) => {
  const token = await signUp("sse-stream");
  const sent: Sent[] = [];
  const client = connectSSE(token, sent);
  t.after(() => client.dispose());
  await streamPromptFlow(sseSubscriptions(client), token, "sse");
  assertAllNamedBy(sent, "documentId");
});
