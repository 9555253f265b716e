/**
 * The agent's measured health and metrics (`agentStatus`). What nothing measured is null in
 * the API and "not measured" here, never 0. `version` goes up when an event may have changed
 * them (a state change, a command's result, a task's end): they are read again.
 */
import { useEffect, useId, useState } from "react";
import { useQuery } from "urql";

import type { ResultOf } from "@graphql-typed-document-node/core";

import { graphql } from "../../../gql";
import { useReconnected } from "../../client";
import { ErrorMessage } from "../../errors";
import { Loading, measured, percent } from "../../ui";

const AgentStatusQuery = graphql(`
  query ConsoleAgentStatus($id: ID!) {
    agentStatus(id: $id) {
      id
      state
      lastSeen
      health {
        status
        uptime
        memoryUsage
        cpuUsage
        responseTime
      }
      metrics {
        commandsTotal
        commandsFailed
        tasksPending
        tasksRunning
        tasksCompleted
        tasksFailed
        meanResponseMs
        p95ResponseMs
      }
    }
  }
`);

export function HealthPanel({ agentId, version }: { agentId: string; version: number }) {
  const headingId = useId();
  const [status, reread] = useQuery({ query: AgentStatusQuery, variables: { id: agentId } });

  useEffect(() => {
    if (version === 0) return;
    // Several events in a burst read once.
    const timer = setTimeout(() => reread({ requestPolicy: "network-only" }), 300);
    return () => clearTimeout(timer);
  }, [version, reread]);

  useReconnected(() => reread({ requestPolicy: "network-only" }));

  // A read that fails keeps the last values on the page, under the error.
  const [last, setLast] = useState<ResultOf<typeof AgentStatusQuery>["agentStatus"] | null>(null);
  const fresh = status.data?.agentStatus;
  useEffect(() => {
    if (fresh) setLast(fresh);
  }, [fresh]);
  const s = fresh ?? last;
  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Health and metrics</h2>
      <ErrorMessage error={status.error} />
      {status.error && s ? <p className="muted">The values below are the last ones read.</p> : null}
      {status.fetching && !s ? <Loading what="health" /> : null}
      {s ? (
        <dl className="metrics">
          <div>
            <dt>Health</dt>
            <dd>
              <span className={`badge health-${s.health.status.toLowerCase()}`}>{s.health.status}</span>
            </dd>
          </div>
          <div>
            <dt>Uptime</dt>
            <dd>{s.state === "RUNNING" ? `${s.health.uptime.toFixed(0)} s` : "not running"}</dd>
          </div>
          <div>
            <dt>Response time</dt>
            <dd>{measured(s.health.responseTime, " ms")}</dd>
          </div>
          <div>
            <dt>Memory use</dt>
            <dd>{percent(s.health.memoryUsage)}</dd>
          </div>
          <div>
            <dt>CPU use</dt>
            <dd>{percent(s.health.cpuUsage)}</dd>
          </div>
          <div>
            <dt>Commands</dt>
            <dd>
              {s.metrics.commandsTotal} ({s.metrics.commandsFailed} failed)
            </dd>
          </div>
          <div>
            <dt>Mean response</dt>
            <dd>{measured(s.metrics.meanResponseMs, " ms")}</dd>
          </div>
          <div>
            <dt>95th percentile response</dt>
            <dd>{measured(s.metrics.p95ResponseMs, " ms")}</dd>
          </div>
          <div>
            <dt>Tasks</dt>
            <dd>
              {s.metrics.tasksPending} pending, {s.metrics.tasksRunning} running, {s.metrics.tasksCompleted} completed,{" "}
              {s.metrics.tasksFailed} failed
            </dd>
          </div>
        </dl>
      ) : null}
    </section>
  );
}
