/**
 * The agent's log lines (`agentLogs`), newest first: a lowest-level filter and paging by the
 * connection's cursors. `version` goes up when the live stream reports a LOG event: the first
 * page is read again.
 */
import { useEffect, useId, useState } from "react";
import { useQuery } from "urql";

import { graphql } from "../../../gql";
import type { LogLevel } from "../../../gql/graphql";
import { useReconnected } from "../../client";
import { ErrorMessage } from "../../errors";
import { Loading, SelectField, formatTime } from "../../ui";

const AgentLogsQuery = graphql(`
  query ConsoleAgentLogs($agentId: ID!, $level: LogLevel, $first: Int, $after: String) {
    agentLogs(agentId: $agentId, level: $level, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          level
          message
          timestamp
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

const LEVELS: readonly LogLevel[] = ["DEBUG", "INFO", "WARNING", "ERROR"];
export const LOG_PAGE_SIZE = 20;

export function LogsPanel({ agentId, version }: { agentId: string; version: number }) {
  const headingId = useId();
  const [level, setLevel] = useState<LogLevel | "">("");
  // The cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1] ?? null;
  const [logs, reread] = useQuery({
    query: AgentLogsQuery,
    variables: { agentId, level: level || null, first: LOG_PAGE_SIZE, after },
  });

  useEffect(() => {
    if (version > 0 && cursors.length === 1) reread({ requestPolicy: "network-only" });
    // Only a new LOG event reads again.
  }, [version]);

  useReconnected(() => reread({ requestPolicy: "network-only" }));

  const page = logs.data?.agentLogs;
  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Logs</h2>
      <div className="filters">
        <SelectField
          label="Lowest level shown"
          value={level}
          onChange={(e) => {
            setLevel(e.target.value as LogLevel | "");
            setCursors([null]);
          }}
        >
          <option value="">All levels</option>
          {LEVELS.map((l) => (
            <option key={l} value={l}>
              {l} and above
            </option>
          ))}
        </SelectField>
        <button type="button" onClick={() => reread({ requestPolicy: "network-only" })}>
          Refresh logs
        </button>
      </div>
      <ErrorMessage error={logs.error} />
      {logs.fetching && !page ? <Loading what="logs" /> : null}
      {page ? (
        page.edges.length ? (
          <div className="table-wrap">
            <table className="responsive logs">
              <caption className="visually-hidden">Log lines, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Level</th>
                  <th scope="col">Message</th>
                </tr>
              </thead>
              <tbody>
                {page.edges.map(({ node }) => (
                  <tr key={node.id} className={`level-${node.level.toLowerCase()}`}>
                    <td data-label="Time">{formatTime(node.timestamp)}</td>
                    <td data-label="Level">{node.level}</td>
                    <td data-label="Message" className="wrap">
                      {node.message}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">No log lines{level ? ` at ${level} or above` : ""}.</p>
        )
      ) : null}
      <nav className="pager" aria-label="Pages of log lines">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Newer<span className="visually-hidden"> log lines</span>
        </button>
        <span>Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page?.pageInfo.hasNextPage || !page.pageInfo.endCursor}
          onClick={() => setCursors((c) => [...c, page?.pageInfo.endCursor ?? null])}
        >
          Older<span className="visually-hidden"> log lines</span>
        </button>
      </nav>
    </section>
  );
}
