/**
 * One agent: what it is (live state), its actions and edit form, its health and metrics, live
 * events (resumed after a drop), a command form, a streamed chat, its logs, tasks and files.
 */
import { useCallback, useState } from "react";
import { useQuery, type CombinedError } from "urql";

import { graphql } from "../../gql";
import type { AgentState } from "../../gql/graphql";
import { ErrorMessage } from "../errors";
import { Link, navigate, useRoute } from "../router";
import { Loading, Page, formatBytes, formatTime } from "../ui";
import { AgentActions, StateBadge, stateOf } from "./AgentsPage";
import { AgentForm } from "./agents/AgentForm";
import { ApprovalPolicyPanel } from "./agents/ApprovalPolicyPanel";
import { CommandPanel } from "./agents/CommandPanel";
import { EventStream, type AgentEvent } from "./agents/EventStream";
import { HealthPanel } from "./agents/HealthPanel";
import { LogsPanel } from "./agents/LogsPanel";
import { PromptPanel } from "./agents/PromptPanel";
import { approvalPath } from "./approvals/ApprovalCard";

const AgentQuery = graphql(`
  query ConsoleAgent($id: ID!) {
    agent(id: $id) {
      id
      name
      type
      state
      capabilities
      createdAt
      updatedAt
      lastSeen
      resources {
        memory
        cpu
        storage
        gpu
      }
      tasks(first: 10) {
        edges {
          node {
            id
            type
            state
            progress
            createdAt
            approval {
              id
            }
          }
        }
        pageInfo {
          hasNextPage
        }
        totalCount
      }
      files {
        id
        originalName
        size
        mimeType
        uploadedAt
      }
    }
  }
`);

export function AgentPage() {
  const { params } = useRoute();
  const id = params.id ?? "";
  const [agentResult, reread] = useQuery({ query: AgentQuery, variables: { id } });
  const [liveState, setLiveState] = useState<AgentState | null>(null);
  const [healthVersion, setHealthVersion] = useState(0);
  const [logsVersion, setLogsVersion] = useState(0);
  const [editing, setEditing] = useState(false);
  const [actionError, setActionError] = useState<CombinedError | null>(null);

  const onEvent = useCallback((event: AgentEvent) => {
    if (event.type === "STATUS_UPDATE") {
      const to = stateOf(event.data);
      if (to) setLiveState(to);
    }
    if (event.type === "LOG") setLogsVersion((n) => n + 1);
    if (["STATUS_UPDATE", "COMMAND_RESULT", "TASK_COMPLETE"].includes(event.type)) setHealthVersion((n) => n + 1);
  }, []);

  const agent = agentResult.data?.agent;
  if (agentResult.fetching && !agentResult.data) {
    return (
      <Page title="Agent">
        <Loading what="the agent" />
      </Page>
    );
  }
  if (!agent) {
    return (
      <Page title="Agent not found">
        <ErrorMessage error={agentResult.error} />
        <p>
          There is no agent <code>{id}</code> that you may see. Back to <Link to="/agents">your agents</Link>.
        </p>
      </Page>
    );
  }
  const state = liveState ?? agent.state;
  const tasks = agent.tasks.edges.map((e) => e.node);
  return (
    <Page title={`Agent ${agent.name}`}>
      <p>
        <Link to="/agents">← All agents</Link>
      </p>
      <section aria-labelledby="about-heading" className="card">
        <h2 id="about-heading">About</h2>
        <dl className="facts">
          <div>
            <dt>State</dt>
            <dd>
              <StateBadge state={state} />
            </dd>
          </div>
          <div>
            <dt>Type</dt>
            <dd>{agent.type}</dd>
          </div>
          <div>
            <dt>Id</dt>
            <dd>
              <code>{agent.id}</code>
            </dd>
          </div>
          <div>
            <dt>Capabilities</dt>
            <dd>{agent.capabilities.length ? agent.capabilities.join(", ") : "none"}</dd>
          </div>
          <div>
            <dt>Resources</dt>
            <dd>
              {agent.resources.memory} memory, {agent.resources.cpu} CPU, {agent.resources.storage} storage
              {agent.resources.gpu ? ", a GPU" : ""}
            </dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatTime(agent.createdAt)}</dd>
          </div>
          <div>
            <dt>Last seen</dt>
            <dd>{formatTime(agent.lastSeen)}</dd>
          </div>
        </dl>
        <ErrorMessage error={actionError} />
        <AgentActions
          agent={agent}
          state={state}
          onEdit={editing ? undefined : () => setEditing(true)}
          onError={setActionError}
          onDeleted={() => navigate("/agents")}
        />
      </section>
      {editing ? (
        <AgentForm
          agent={agent}
          onDone={(saved) => {
            setEditing(false);
            if (saved) reread({ requestPolicy: "network-only" });
          }}
        />
      ) : null}
      <ApprovalPolicyPanel agentId={agent.id} />
      <div className="columns">
        <HealthPanel agentId={agent.id} version={healthVersion} />
        <CommandPanel agentId={agent.id} />
      </div>
      <PromptPanel agentId={agent.id} />
      <EventStream agentId={agent.id} onEvent={onEvent} />
      <LogsPanel agentId={agent.id} version={logsVersion} />
      <div className="columns">
        <section aria-labelledby="tasks-heading" className="card">
          <h2 id="tasks-heading">Tasks</h2>
          {tasks.length ? (
            <ul className="plain">
              {tasks.map((task) => (
                <li key={task.id}>
                  <code>{task.id}</code> {task.type}: {task.state}
                  {task.progress !== null && task.progress !== undefined ? ` (${(task.progress * 100).toFixed(0)} %)` : ""},{" "}
                  queued {formatTime(task.createdAt)}
                  {task.state === "AWAITING_APPROVAL" && task.approval ? (
                    <>
                      {" "}
                      (<Link to={approvalPath(task.approval)}>its approval</Link>)
                    </>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No tasks.</p>
          )}
          <p>
            <Link to={`/tasks?agent=${encodeURIComponent(agent.id)}`}>
              {agent.tasks.pageInfo.hasNextPage ? `All ${agent.tasks.totalCount} of its tasks on the Tasks page` : "Its tasks on the Tasks page"}
            </Link>
            {" · "}
            <Link to={`/schedules?agent=${encodeURIComponent(agent.id)}`}>Its schedules</Link>
            {" · "}
            <Link to={`/threads?agent=${encodeURIComponent(agent.id)}`}>Its threads</Link>
          </p>
        </section>
        <section aria-labelledby="files-heading" className="card">
          <h2 id="files-heading">Files</h2>
          {agent.files.length ? (
            <ul className="plain">
              {agent.files.map((file) => (
                <li key={file.id}>
                  {file.originalName} ({formatBytes(file.size)}, {file.mimeType}), uploaded {formatTime(file.uploadedAt)}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No files.</p>
          )}
          <p>
            <Link to={`/files?agent=${encodeURIComponent(agent.id)}`}>Its files on the Files page</Link>
          </p>
        </section>
      </div>
    </Page>
  );
}
