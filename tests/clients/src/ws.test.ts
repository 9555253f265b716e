/**
 * graphql-ws (graphql-transport-ws) over a real WebSocket (the `ws` package); each subscribe
 * payload names its document by `documentId`.
 */
import { test } from "node:test";

import { TEST_TIMEOUT_MS } from "./env.js";
import { agentEventsFlow, streamPromptFlow } from "./flows.js";
import { signUp } from "./http.js";
import { assertAllNamedBy, type Sent } from "./persisted.js";
import { connectWS, wsSubscriptions } from "./subscriptions.js";

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

test("graphql-ws: agentEvents delivers the event of a sendCommand", TIMEOUT, async (t) => {
  const token = await signUp("ws-events");
  const sent: Sent[] = [];
  const client = connectWS(token, sent);
  t.after(() => client.dispose());
  await agentEventsFlow(wsSubscriptions(client), token, "ws");
  assertAllNamedBy(sent, "documentId");
});

test("graphql-ws: streamPrompt streams its chunks one by one until done", TIMEOUT, async (t) => {
  const token = await signUp("ws-stream");
  const sent: Sent[] = [];
  const client = connectWS(token, sent);
  t.after(() => client.dispose());
  await streamPromptFlow(wsSubscriptions(client), token, "ws");
  assertAllNamedBy(sent, "documentId");
});
