/**
 * @urql/core over HTTP: register, log in, create an echo agent, command it, read it back;
 * then page through `agents`, a connection, with its cursors. @urql/exchange-persisted's
 * persistedExchange names every query and mutation by its hash (APQ's
 * `extensions.persistedQuery.sha256Hash`), the SHA-256 graphql-codegen listed it under,
 * and never falls back to sending its text.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";

import { Client, fetchExchange, type OperationResult } from "@urql/core";
import { persistedExchange } from "@urql/exchange-persisted";

import { CREATE_AGENT, REGISTER, SEND_COMMAND } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, TEST_TIMEOUT_MS, uniqueEmail } from "./env.js";
import { graphql } from "./gql/index.js";
import { assertAllNamedBy, recordingFetch, type Sent, sha256Of } from "./persisted.js";

const LOGIN = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      accessToken
      expiresAt
      user {
        id
        email
        role
      }
    }
  }
`);

const AGENT_AFTER_COMMAND = graphql(`
  query AgentAfterCommand($id: ID!) {
    me {
      email
    }
    agent(id: $id) {
      id
      name
      state
      owner {
        email
      }
      status {
        metrics {
          commandsTotal
          commandsFailed
        }
      }
    }
  }
`);

const AGENTS_PAGE = graphql(`
  query AgentsPage($filter: AgentFilter, $orderBy: AgentOrder, $first: Int, $after: String) {
    agents(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          name
          type
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

/** Every request each flow's clients sent, checked at its end. */
const sent: Sent[] = [];

function urqlClient(token?: string): Client {
  return new Client({
    url: GRAPHQL_URL,
    exchanges: [
      persistedExchange({
        // The hash codegen embedded in the document, not one of a text printed here.
        generateHash: async (_text, document) => sha256Of(document),
        enforcePersistedQueries: true,
        enableForMutation: true,
        // POST, as the client's other requests: a server may refuse queries over GET.
        preferGetForPersistedQueries: false,
      }),
      fetchExchange,
    ],
    fetch: recordingFetch(sent),
    // Queries as POST too: a server may refuse queries over GET.
    preferGetMethod: false,
    requestPolicy: "network-only",
    // urql's own Accept header (JSON first, then text/event-stream and multipart/mixed) is
    // left as it is: the server must answer a query or mutation with JSON for it.
    fetchOptions: () =>
      token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
  });
}

/** The data of a result; a network or GraphQL error fails the flow with what the server said. */
function dataOf<Data>(result: OperationResult<Data>): Data {
  if (result.error !== undefined) {
    throw new Error(`${result.error.message}: ${JSON.stringify(result.error.graphQLErrors)}`);
  }
  assert.ok(result.data !== undefined && result.data !== null, "no data");
  return result.data;
}

const TIMEOUT = { timeout: TEST_TIMEOUT_MS };

test("urql: register, log in, create an echo agent, command it", TIMEOUT, async () => {
  const email = uniqueEmail("urql");
  const anonymous = urqlClient();

  const { register } = dataOf(
    await anonymous.mutation(REGISTER, { input: { email, password: PASSWORD } }).toPromise(),
  );
  assert.equal(register.user.email, email);
  // The first user of a fresh database is ADMIN, the others USER: both may create agents.
  assert.ok(["ADMIN", "USER"].includes(register.user.role), register.user.role);

  const { login } = dataOf(
    await anonymous.mutation(LOGIN, { input: { email, password: PASSWORD } }).toPromise(),
  );
  assert.equal(login.user.id, register.user.id);
  assert.ok(Date.parse(login.expiresAt) > Date.now(), login.expiresAt);

  const client = urqlClient(login.accessToken);
  const { createAgent } = dataOf(
    await client.mutation(CREATE_AGENT, { input: { name: "urql-echo", type: "echo" } }).toPromise(),
  );
  assert.equal(createAgent.type, "echo");
  assert.equal(createAgent.state, "RUNNING");

  const command = { command: "greet", params: { who: "urql", n: 2 } };
  const { sendCommand } = dataOf(
    await client.mutation(SEND_COMMAND, { agentId: createAgent.id, command }).toPromise(),
  );
  assert.equal(sendCommand.success, true, JSON.stringify(sendCommand));
  assert.deepEqual(sendCommand.result, { echo: "greet", params: command.params });
  assert.equal(sendCommand.error, null);
  assert.ok(sendCommand.durationMs >= 0);

  const { me, agent } = dataOf(
    await client.query(AGENT_AFTER_COMMAND, { id: createAgent.id }).toPromise(),
  );
  assert.equal(me?.email, email);
  assert.ok(agent !== null && agent !== undefined, "the agent is not found");
  assert.equal(agent.owner.email, email);
  assert.equal(agent.status.metrics.commandsTotal, 1);
  assert.equal(agent.status.metrics.commandsFailed, 0);
  assertAllNamedBy(sent.splice(0), "sha256Hash");
});

test("urql: agents is a connection, paged with first and after", TIMEOUT, async () => {
  const email = uniqueEmail("urql-pages");
  const { register } = dataOf(
    await urqlClient().mutation(REGISTER, { input: { email, password: PASSWORD } }).toPromise(),
  );
  const client = urqlClient(register.accessToken);
  // The first user of a fresh database is ADMIN and lists every flow's agents: the filter
  // keeps this flow's own.
  const marker = `pages-${randomUUID().slice(0, 8)}`;
  for (const suffix of ["b", "a", "c"]) {
    const input = { name: `${marker}-${suffix}`, type: "echo" };
    dataOf(await client.mutation(CREATE_AGENT, { input }).toPromise());
  }
  const filter = { nameContains: marker.toUpperCase() }; // case-insensitive
  const orderBy = { field: "NAME", direction: "ASC" } as const;

  const first = dataOf(
    await client.query(AGENTS_PAGE, { filter, orderBy, first: 2 }).toPromise(),
  ).agents;
  assert.deepEqual(
    first.edges.map((edge) => edge.node.name),
    [`${marker}-a`, `${marker}-b`],
  );
  assert.equal(first.totalCount, 3);
  assert.equal(first.pageInfo.hasNextPage, true);
  assert.equal(first.pageInfo.endCursor, first.edges[1]?.cursor);
  assert.ok(first.pageInfo.endCursor !== null && first.pageInfo.endCursor !== undefined);

  const after = first.pageInfo.endCursor;
  const second = dataOf(
    await client.query(AGENTS_PAGE, { filter, orderBy, first: 2, after }).toPromise(),
  ).agents;
  assert.deepEqual(
    second.edges.map((edge) => edge.node.name),
    [`${marker}-c`],
  );
  assert.equal(second.pageInfo.hasNextPage, false);

  // A cursor is good only for the order it came from.
  const otherOrder = { field: "CREATED_AT", direction: "DESC" } as const;
  const refused = await client
    .query(AGENTS_PAGE, { filter, orderBy: otherOrder, first: 2, after })
    .toPromise();
  assert.ok(refused.error !== undefined, "a cursor of another order was accepted");
  assert.deepEqual(
    refused.error.graphQLErrors.map((error) => error.extensions["code"]),
    ["BAD_USER_INPUT"],
  );
  assertAllNamedBy(sent.splice(0), "sha256Hash");
});
