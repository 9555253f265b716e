/**
 * The two subscription flows, written once against a `Subscribe` function so that each
 * transport (graphql-ws over WebSocket, graphql-sse over HTTP) runs exactly the same steps.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";

import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

import { AGENT_EVENTS, SEND_COMMAND, STREAM_PROMPT } from "./documents.js";
import type { AgentEventsSubscription, StreamPromptSubscription } from "./gql/graphql.js";
import { createEcho, execute } from "./http.js";

/** Starts a subscription; yields the `data` of each result, throws on GraphQL errors. */
export type Subscribe = <TResult, TVariables extends Record<string, unknown>>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
) => AsyncGenerator<TResult, void, undefined>;

interface Result<TData> {
  data?: TData | null;
  errors?: readonly unknown[];
}

/** The data of each result of a client's iterate(); a result with errors fails the flow. */
export async function* dataOf<TData>(
  results: AsyncIterableIterator<Result<TData>>,
): AsyncGenerator<TData, void, undefined> {
  try {
    for (;;) {
      const next = await results.next();
      if (next.done) {
        return;
      }
      const { data, errors } = next.value;
      if (errors !== undefined && errors.length > 0) {
        throw new Error(`GraphQL errors: ${JSON.stringify(errors)}`);
      }
      if (data == null) {
        throw new Error(`a result without data: ${JSON.stringify(next.value)}`);
      }
      yield data;
    }
  } finally {
    await results.return?.();
  }
}

async function nextOf<T>(iterator: AsyncGenerator<T, void, undefined>, what: string): Promise<T> {
  const next = await iterator.next();
  if (next.done) {
    throw new Error(`the subscription ended before ${what}`);
  }
  return next.value;
}

type AgentEvent = AgentEventsSubscription["agentEvents"];
type Chunk = StreamPromptSubscription["streamPrompt"];

/**
 * agentEvents of a new echo agent from seq 0: the stored events are replayed, then a
 * sendCommand made after the first event arrived shows up live as a COMMAND_RESULT.
 */
export async function agentEventsFlow(
  subscribe: Subscribe,
  token: string,
  via: string,
): Promise<void> {
  const agentId = await createEcho(token, `${via}-events`);
  const events = subscribe(AGENT_EVENTS, { agentId, after: 0 });
  const seen: AgentEvent[] = [];
  const params = { via, n: 1 };
  try {
    seen.push((await nextOf(events, "the first stored event")).agentEvents);

    const { sendCommand } = await execute(
      SEND_COMMAND,
      { agentId, command: { command: "ping", params }, idempotencyKey: `${via}-ping` },
      token,
    );
    assert.equal(sendCommand.success, true, JSON.stringify(sendCommand));
    assert.deepEqual(sendCommand.result, { echo: "ping", params });
    assert.equal(sendCommand.error, null);

    for (;;) {
      const { agentEvents } = await nextOf(events, "the COMMAND_RESULT event");
      seen.push(agentEvents);
      if (agentEvents.type === "COMMAND_RESULT") {
        break;
      }
    }
  } finally {
    await events.return();
  }

  // Every event of the agent, in order, no gap, no duplicate.
  assert.deepEqual(
    seen.map((event) => event.seq),
    seen.map((_, i) => i + 1),
  );
  assert.ok(seen.every((event) => event.agentId === agentId));
  assert.equal(seen[0]?.type, "STATUS_UPDATE");
  const answer = seen.at(-1);
  assert.ok(answer !== undefined);
  assert.deepEqual((answer.data as { result?: unknown }).result, { echo: "ping", params });
  assert.ok(!Number.isNaN(Date.parse(answer.timestamp)), answer.timestamp);
}

/**
 * streamPrompt to an echo agent that pauses between words: one chunk per word, in order,
 * the last one done, then the subscription completes. The chunks arrive spread over the
 * pauses, so the transport delivered them one by one rather than all at the end.
 */
export async function streamPromptFlow(
  subscribe: Subscribe,
  token: string,
  via: string,
): Promise<void> {
  const delaySeconds = 0.1;
  const agentId = await createEcho(token, `${via}-stream`, delaySeconds);
  const prompt = "the quick brown fox jumps";
  const chunks: Chunk[] = [];
  const arrivals: number[] = [];
  for await (const { streamPrompt } of subscribe(STREAM_PROMPT, { agentId, input: { prompt } })) {
    chunks.push(streamPrompt);
    arrivals.push(performance.now());
  }

  assert.deepEqual(
    chunks.map((chunk) => chunk.index),
    chunks.map((_, i) => i),
  );
  assert.deepEqual(
    chunks.map((chunk) => chunk.done),
    chunks.map((_, i) => i === chunks.length - 1),
  );
  assert.equal(chunks.map((chunk) => chunk.delta).join(""), prompt);
  assert.deepEqual(
    chunks.filter((chunk) => chunk.delta !== "").map((chunk) => chunk.delta.trim()),
    prompt.split(" "),
  );
  assert.equal(new Set(chunks.map((chunk) => chunk.streamId)).size, 1);

  const first = arrivals[0];
  const last = arrivals.at(-1);
  assert.ok(first !== undefined && last !== undefined);
  const words = prompt.split(" ").length;
  // The agent pauses `delaySeconds` before each word: buffered chunks would all land at once.
  assert.ok(
    last - first >= (words - 2) * delaySeconds * 1000,
    `chunks arrived within ${(last - first).toFixed(0)} ms: not streamed one by one`,
  );
}
