/** @urql/core over HTTP: register, log in, create an echo agent, command it, read it back. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, fetchExchange, type OperationResult } from "@urql/core";

import { CREATE_AGENT, REGISTER, SEND_COMMAND } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, TEST_TIMEOUT_MS, uniqueEmail } from "./env.js";
import { graphql } from "./gql/index.js";

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

function urqlClient(token?: string): Client {
  return new Client({
    url: GRAPHQL_URL,
    exchanges: [fetchExchange],
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
});
