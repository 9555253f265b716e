/**
 * The Threads pages' GraphQL documents: a thread and a message as every page shows them, the
 * agents a thread may be started with, the thread's page (its newest messages, or a page of
 * earlier ones before a cursor), the mutations, and the two subscriptions of the chat page:
 * `sendMessage` (one message, its answer streamed) and the agent's events (the messages
 * stored since, whoever sent them).
 */
import { graphql } from "../../../gql";
import type { MessageRole, ThreadPageMessageFragment, ThreadsPageThreadFragment } from "../../../gql/graphql";

graphql(`
  fragment ThreadsPageThread on Thread {
    id
    title
    busy
    createdAt
    updatedAt
    agent {
      id
      name
      type
      state
    }
  }
`);

graphql(`
  fragment ThreadPageMessage on Message {
    id
    role
    content
    seq
    interrupted
    createdAt
    usage {
      promptTokens
      completionTokens
    }
  }
`);

export type Thread = ThreadsPageThreadFragment;
export type Message = ThreadPageMessageFragment;

// The agents a thread may be started with (your own), by name.
export const ThreadAgentsQuery = graphql(`
  query ThreadsPageAgents {
    agents(first: 500, orderBy: { field: NAME, direction: ASC }) {
      edges {
        node {
          id
          name
          type
          state
        }
      }
    }
  }
`);

// The thread and a page of its messages: the newest (`before` null), or those just before
// a cursor ("Load earlier"), oldest first either way.
export const ThreadQuery = graphql(`
  query ThreadPageThread($id: ID!, $last: Int!, $before: String) {
    thread(id: $id) {
      ...ThreadsPageThread
      messages(last: $last, before: $before) {
        edges {
          cursor
          node {
            ...ThreadPageMessage
          }
        }
        pageInfo {
          hasPreviousPage
          startCursor
        }
      }
    }
  }
`);

export const CreateThreadMutation = graphql(`
  mutation ThreadsPageCreate($input: ThreadInput!) {
    createThread(input: $input) {
      ...ThreadsPageThread
    }
  }
`);

export const DeleteThreadMutation = graphql(`
  mutation ThreadsPageDelete($id: ID!) {
    deleteThread(id: $id)
  }
`);

// One message; its answer chunk by chunk, the last with done: true. Sent once (`oneShot`):
// subscribing again after a dropped connection would send the message again.
export const SendMessageSubscription = graphql(`
  subscription ThreadPageSend($threadId: ID!, $input: MessageInput!) {
    sendMessage(threadId: $threadId, input: $input) {
      streamId
      index
      delta
      done
    }
  }
`);

// The agent's events after a seq: each stored message is a MESSAGE event whose seq is the
// message's, so the page follows on from the newest message it holds, with no gap.
export const ThreadEventsSubscription = graphql(`
  subscription ThreadPageEvents($agentId: ID!, $after: Int) {
    agentEvents(agentId: $agentId, after: $after) {
      seq
      type
      data
      timestamp
    }
  }
`);

export const ROLE_WORDS: Record<MessageRole, string> = {
  SYSTEM: "System",
  USER: "You",
  ASSISTANT: "Agent",
  TOOL: "Tool",
};

const ROLES: ReadonlySet<string> = new Set(Object.keys(ROLE_WORDS));

/** The message a MESSAGE event carries (data: {threadId, messageId, role, content, usage,
 * interrupted}), if it is one of `threadId`'s. */
export function messageOfEvent(
  event: { seq: number; type: string; data: unknown; timestamp: string },
  threadId: string,
): Message | null {
  if (event.type !== "MESSAGE" || typeof event.data !== "object" || event.data === null) return null;
  const data = event.data as Record<string, unknown>;
  if (data.threadId !== threadId || typeof data.messageId !== "string" || typeof data.content !== "string") return null;
  if (typeof data.role !== "string" || !ROLES.has(data.role)) return null;
  const usage = data.usage as { promptTokens?: unknown; completionTokens?: unknown } | null | undefined;
  const count = (value: unknown) => (typeof value === "number" ? value : null);
  return {
    __typename: "Message",
    id: data.messageId,
    role: data.role as MessageRole,
    content: data.content,
    seq: event.seq,
    interrupted: data.interrupted === true,
    createdAt: event.timestamp,
    usage: usage ? { __typename: "Usage", promptTokens: count(usage.promptTokens), completionTokens: count(usage.completionTokens) } : null,
  };
}

/** The thread's name for a person: its title, else when it was started. */
export function threadName(thread: Pick<Thread, "title" | "createdAt">): string {
  return thread.title?.trim() || `Untitled, started ${new Date(thread.createdAt).toLocaleString()}`;
}

export function threadPath(thread: { id: string }): string {
  return `/threads/${encodeURIComponent(thread.id)}`;
}
