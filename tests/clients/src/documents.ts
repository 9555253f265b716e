/**
 * Operations shared by several flows. graphql-codegen's client preset finds every
 * graphql(`...`) call in src/, validates it against ../../graphql.schema and types it:
 * a schema change that breaks one of these fails codegen or tsc.
 */
import { graphql } from "./gql/index.js";

export const REGISTER = graphql(`
  mutation Register($input: RegisterInput!) {
    register(input: $input) {
      accessToken
      refreshToken
      expiresAt
      user {
        id
        email
        role
      }
    }
  }
`);

export const CREATE_AGENT = graphql(`
  mutation CreateAgent($input: AgentConfigInput!) {
    createAgent(input: $input) {
      id
      name
      type
      state
      configuration
    }
  }
`);

export const SEND_COMMAND = graphql(`
  mutation SendCommand($agentId: ID!, $command: AgentCommandInput!, $idempotencyKey: String) {
    sendCommand(agentId: $agentId, command: $command, idempotencyKey: $idempotencyKey) {
      success
      result
      error
      timestamp
      durationMs
    }
  }
`);

export const AGENT_EVENTS = graphql(`
  subscription AgentEvents($agentId: ID!, $after: Int) {
    agentEvents(agentId: $agentId, after: $after) {
      seq
      agentId
      type
      data
      timestamp
    }
  }
`);

export const STREAM_PROMPT = graphql(`
  subscription StreamPrompt($agentId: ID!, $input: StreamPromptInput!) {
    streamPrompt(agentId: $agentId, input: $input) {
      streamId
      index
      delta
      done
    }
  }
`);
