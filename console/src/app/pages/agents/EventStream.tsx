/**
 * An agent's live events: `agentEvents(after:)`, from the first stored event (after: 0), then
 * live. The page keeps the last seq it holds; when the connection drops and comes back, the
 * subscription starts again after that seq (client.ts `resume`), so the events of the gap are
 * replayed, and the page says so: when it lost the connection, when it got it back, and that the
 * seqs since follow on with none missing. Every event is checked against the one before it
 * (seq = last + 1); a gap is shown in words as an error, never hidden.
 */
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useClient, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import type { AgentEventType } from "../../../gql/graphql";
import { getConnection, subscribeConnection } from "../../client";
import { ErrorMessage, errorCode, type ErrorCode } from "../../errors";

const AgentEventsSubscription = graphql(`
  subscription ConsoleAgentEvents($agentId: ID!, $after: Int) {
    agentEvents(agentId: $agentId, after: $after) {
      seq
      type
      data
      timestamp
    }
  }
`);

export type AgentEvent = { seq: number; type: AgentEventType; data: unknown; timestamp: string };

const RETRIED: ReadonlySet<ErrorCode> = new Set(["UNAUTHENTICATED", "RATE_LIMITED", "SERVICE_UNAVAILABLE", "QUOTA_EXCEEDED"]);

/** How many events the page shows (the newest); older ones are counted, not kept. */
const SHOWN = 100;

type Resumption = {
  droppedAt: number | null;
  reconnectedAt: number;
  after: number | null;
  /** The last seq received since (null: none yet). */
  through: number | null;
};

type Gap = { from: number; to: number };

function field(data: unknown, key: string): unknown {
  return typeof data === "object" && data !== null ? (data as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** One line about an event, by type (AgentEventType's documented `data`). */
export function summary(event: AgentEvent): string {
  const d = event.data;
  switch (event.type) {
    case "STATUS_UPDATE": {
      const reason = text(field(d, "reason"));
      const error = text(field(d, "error"));
      return `${text(field(d, "from")) || "?"} → ${text(field(d, "to"))}${reason ? ` (${reason})` : ""}${error ? `: ${error}` : ""}`;
    }
    case "LOG":
      return `[${text(field(d, "level"))}] ${text(field(d, "message"))}`;
    case "STREAM_CHUNK":
      return `${text(field(d, "delta"))}${field(d, "done") === true ? " (end of answer)" : ""}`;
    case "ERROR":
      return text(field(d, "error"));
    case "COMMAND_RESULT": {
      const ms = field(d, "durationMs");
      const outcome = field(d, "success") === true ? "succeeded" : `failed: ${text(field(d, "error"))}`;
      return `${text(field(d, "command"))} ${outcome}${typeof ms === "number" ? ` in ${ms.toFixed(1)} ms` : ""}`;
    }
    case "TASK_PROGRESS":
    case "TASK_COMPLETE": {
      const progress = field(d, "progress");
      const pct = typeof progress === "number" ? ` ${(progress * 100).toFixed(0)} %` : "";
      return `${text(field(d, "type"))} task ${text(field(d, "taskId"))}: ${text(field(d, "state"))}${pct}`;
    }
    default:
      return text(d);
  }
}

function clock(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

function seqRange(from: number, to: number): string {
  return from === to ? `#${from}` : `#${from}–#${to}`;
}

export function EventStream({ agentId, onEvent }: { agentId: string; onEvent?: (event: AgentEvent) => void }) {
  const client = useClient();
  const lastSeq = useRef<number | null>(null);
  const onEventRef = useRef(onEvent);
  useEffect(() => {
    onEventRef.current = onEvent;
  }, [onEvent]);
  const [events, setEvents] = useState<AgentEvent[]>([]);
  const [received, setReceived] = useState(0);
  const [gaps, setGaps] = useState<Gap[]>([]);
  const [resumptions, setResumptions] = useState<Resumption[]>([]);
  const [error, setError] = useState<CombinedError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const connection = useSyncExternalStore(subscribeConnection, getConnection);

  // The socket came back: note where the stream resumes from.
  const seenReconnections = useRef(connection.reconnections);
  const lastDrop = useRef<number | null>(null);
  useEffect(() => {
    if (!connection.connected && connection.droppedAt !== null) lastDrop.current = connection.droppedAt;
  }, [connection.connected, connection.droppedAt]);
  useEffect(() => {
    if (connection.reconnections === seenReconnections.current) return;
    seenReconnections.current = connection.reconnections;
    setResumptions((list) => [
      ...list.slice(-4),
      { droppedAt: lastDrop.current, reconnectedAt: Date.now(), after: lastSeq.current, through: null },
    ]);
  }, [connection.reconnections]);

  useEffect(() => {
    setError(null);
    let pending: AgentEvent[] = [];
    let flushTimer: ReturnType<typeof setTimeout> | undefined;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    // A replay can bring thousands of events at once: the page draws them in batches.
    const flush = () => {
      flushTimer = undefined;
      const batch = pending;
      pending = [];
      if (!batch.length) return;
      setEvents((shown) => [...shown, ...batch].slice(-SHOWN));
      setReceived((n) => n + batch.length);
      const through = batch[batch.length - 1]?.seq ?? null;
      setResumptions((list) => {
        const latest = list[list.length - 1];
        return latest ? [...list.slice(0, -1), { ...latest, through }] : list;
      });
    };
    const variables = () => ({ agentId, after: lastSeq.current ?? 0 });
    const subscription = client
      .subscription(AgentEventsSubscription, variables(), { resume: variables })
      .subscribe((result) => {
        if (result.error) {
          setError(result.error);
          // The operation ended. A transport that gave up, or a passing refusal (busy, rate
          // limited, a token being renewed), is tried again after the last seq held, in a few
          // seconds; an agent that is gone or forbidden is not.
          const code = errorCode(result.error);
          if (code === null || RETRIED.has(code)) retryTimer = setTimeout(() => setAttempt((n) => n + 1), 5000);
          return;
        }
        const event = result.data?.agentEvents;
        if (!event) return;
        const last = lastSeq.current;
        if (last !== null && event.seq <= last) return; // already held (replayed again)
        if (last !== null && event.seq !== last + 1) setGaps((list) => [...list, { from: last + 1, to: event.seq - 1 }]);
        lastSeq.current = event.seq;
        pending.push(event);
        onEventRef.current?.(event);
        flushTimer ??= setTimeout(flush, 50);
      });
    return () => {
      subscription.unsubscribe();
      clearTimeout(retryTimer);
      clearTimeout(flushTimer);
      flush();
    };
  }, [client, agentId, attempt]);

  const newestFirst = [...events].reverse();
  const latest = resumptions[resumptions.length - 1];
  const down = connection.transport === "websocket" && !connection.connected && connection.droppedAt !== null;
  return (
    <section aria-labelledby="events-heading" className="card">
      <h2 id="events-heading">Live events</h2>
      <div role="status" aria-live="polite" className="stream-status">
        {down ? (
          <p className="notice">Connection lost at {clock(connection.droppedAt ?? Date.now())}; reconnecting…</p>
        ) : latest ? (
          <p className="success">
            Reconnected at {clock(latest.reconnectedAt)}
            {latest.droppedAt !== null ? ` (the connection was lost at ${clock(latest.droppedAt)})` : ""}.{" "}
            {latest.after !== null ? `Resumed after event #${latest.after}: ` : "Resumed from the first stored event: "}
            {latest.through !== null && latest.through > (latest.after ?? 0)
              ? `events ${seqRange((latest.after ?? 0) + 1, latest.through)} arrived since, ${gaps.length ? "but some are missing (below)" : "none missing"}.`
              : "no new events since."}
          </p>
        ) : (
          <p className="muted">
            {connection.transport === "sse" ? "Live over Server-Sent Events (WebSockets are unavailable here)." : "Live."}{" "}
            {lastSeq.current !== null ? `Latest event #${lastSeq.current}.` : "No events yet."}
          </p>
        )}
      </div>
      {gaps.length ? (
        <div className="error" role="alert">
          <p>
            Events not received: {gaps.map((g) => seqRange(g.from, g.to)).join(", ")} (removed by the server's retention, or
            lost).
          </p>
        </div>
      ) : null}
      <ErrorMessage error={error} />
      {received > SHOWN ? <p className="muted">Showing the newest {SHOWN} of {received} events received.</p> : null}
      {newestFirst.length ? (
        <div className="table-wrap event-list">
          <table className="responsive">
            <caption className="visually-hidden">Events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Seq</th>
                <th scope="col">Time</th>
                <th scope="col">Type</th>
                <th scope="col">What</th>
              </tr>
            </thead>
            <tbody>
              {newestFirst.map((event) => (
                <tr key={event.seq} data-seq={event.seq}>
                  <td data-label="Seq" className="seq">
                    {event.seq}
                  </td>
                  <td data-label="Time">{new Date(event.timestamp).toLocaleTimeString()}</td>
                  <td data-label="Type">{event.type}</td>
                  <td data-label="What" className="wrap">
                    {summary(event)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="muted">No events stored for this agent yet.</p>
      )}
    </section>
  );
}
