/**
 * The server under test runs only the documents codegen listed (KAI_TRUSTED_DOCUMENTS is
 * src/gql/persisted-documents.json): any other is refused with PERSISTED_QUERY_NOT_IN_LIST
 * on every transport, whether sent as text, by documentId or by APQ hash. So is a listed
 * document's text printed otherwise than the manifest has it: the clients must name them.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  ApolloClient,
  ApolloLink,
  CombinedGraphQLErrors,
  gql,
  HttpLink,
  InMemoryCache,
} from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { Client, fetchExchange } from "@urql/core";
import { print } from "graphql";

import { REGISTER } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, TEST_TIMEOUT_MS, uniqueEmail } from "./env.js";
import { post, signUp } from "./http.js";
import { documentIdOf, recordingFetch, type Sent } from "./persisted.js";
import { connectSSE, connectWS, sseRequest, wsPayload } from "./subscriptions.js";

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };
const NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST";

// Valid against the schema, but in no graphql(`...`) call: codegen did not list them.
const UNLISTED_QUERY = "query Unlisted { me { email } }";
const UNLISTED_SUBSCRIPTION =
  "subscription UnlistedSeqs($agentId: ID!) { agentEvents(agentId: $agentId, after: 0) { seq } }";

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown> | undefined;
}

function codes(errors: readonly FormattedError[] | undefined): unknown[] {
  return (errors ?? []).map((error) => error.extensions?.["code"]);
}

/**
 * The error codes a refused subscription ends with: the errors it throws (graphql-ws's
 * `error` message) or those of its results, which must carry no data.
 */
async function refusal(
  results: AsyncIterableIterator<{ data?: unknown; errors?: readonly FormattedError[] }>,
): Promise<unknown[]> {
  const found: unknown[] = [];
  try {
    for await (const result of results) {
      assert.ok(result.data == null, `a refused subscription had data: ${JSON.stringify(result)}`);
      found.push(...codes(result.errors));
    }
  } catch (error) {
    assert.ok(Array.isArray(error), `not GraphQL errors: ${String(error)}`);
    found.push(...codes(error as FormattedError[]));
  }
  return found;
}

test("HTTP: an unlisted document is refused as text, by id and by hash", TIMEOUT, async () => {
  // As text, from urql without its persisted exchange.
  const urql = new Client({
    url: GRAPHQL_URL,
    exchanges: [fetchExchange],
    preferGetMethod: false,
  });
  const asText = await urql.query(UNLISTED_QUERY, {}).toPromise();
  assert.ok(asText.error !== undefined, "an unlisted document ran");
  assert.deepEqual(codes(asText.error.graphQLErrors), [NOT_IN_LIST]);
  assert.equal(asText.data, undefined);

  // By documentId, as the GraphQL-over-HTTP persisted documents appendix names one.
  const hash = sha256(UNLISTED_QUERY);
  for (const documentId of [`sha256:${hash}`, hash, "Unlisted"]) {
    const { body } = await post({ documentId });
    assert.deepEqual(codes(body.errors), [NOT_IN_LIST], documentId);
    assert.equal(body.data ?? undefined, undefined);
  }

  // By hash, from Apollo's persisted queries link as it comes: refused, not retried as text.
  const sent: Sent[] = [];
  const apollo = new ApolloClient({
    cache: new InMemoryCache(),
    link: ApolloLink.from([
      new PersistedQueryLink({ sha256 }),
      new HttpLink({ uri: GRAPHQL_URL, fetch: recordingFetch(sent) }),
    ]),
  });
  const byHash = await apollo.query({
    query: gql(UNLISTED_QUERY),
    fetchPolicy: "network-only",
    errorPolicy: "all",
  });
  assert.ok(CombinedGraphQLErrors.is(byHash.error), String(byHash.error));
  assert.deepEqual(codes(byHash.error.errors), [NOT_IN_LIST]);
  assert.equal(sent.length, 1, JSON.stringify(sent));
  assert.equal(sent[0]?.["query"], undefined);
});

test("HTTP: a listed document's text runs only exactly as listed", TIMEOUT, async () => {
  const manifest = new URL("../src/gql/persisted-documents.json", import.meta.url);
  const listed = JSON.parse(readFileSync(manifest, "utf8")) as Record<string, string>;
  const text = listed[documentIdOf(REGISTER)];
  assert.ok(text !== undefined, "REGISTER is not in the manifest");
  const input = { email: uniqueEmail("trusted"), password: PASSWORD };

  // graphql-js prints the same operation otherwise (the manifest sorts its fields).
  const printed = print(REGISTER);
  assert.notEqual(printed, text);
  const refused = await post({ query: printed, variables: { input } });
  assert.deepEqual(codes(refused.body.errors), [NOT_IN_LIST]);

  const ran = await post<{ register: { user: { email: string } } }>({
    query: text,
    variables: { input },
  });
  assert.equal(ran.body.errors, undefined, ran.text);
  assert.equal(ran.body.data?.register.user.email, input.email);
});

test("graphql-ws: an unlisted document is refused as text and by id", TIMEOUT, async (t) => {
  const token = await signUp("trusted-ws");
  const client = connectWS(token);
  t.after(() => client.dispose());
  const variables = { agentId: "unlisted" };

  const asText = await refusal(client.iterate({ query: UNLISTED_SUBSCRIPTION, variables }));
  assert.deepEqual(asText, [NOT_IN_LIST]);
  const documentId = `sha256:${sha256(UNLISTED_SUBSCRIPTION)}`;
  const byId = await refusal(client.iterate(wsPayload(documentId, variables)));
  assert.deepEqual(byId, [NOT_IN_LIST]);
});

test("graphql-sse: an unlisted document is refused as text and by id", TIMEOUT, async (t) => {
  const token = await signUp("trusted-sse");
  const client = connectSSE(token);
  t.after(() => client.dispose());
  const variables = { agentId: "unlisted" };

  const asText = await refusal(client.iterate({ query: UNLISTED_SUBSCRIPTION, variables }));
  assert.deepEqual(asText, [NOT_IN_LIST]);
  const documentId = `sha256:${sha256(UNLISTED_SUBSCRIPTION)}`;
  const byId = await refusal(client.iterate(sseRequest(documentId, variables)));
  assert.deepEqual(byId, [NOT_IN_LIST]);
});
