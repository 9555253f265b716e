/**
 * A thread's conversation on its chat page (history.ts has the rules it keeps):
 *
 * - the thread and its newest messages (`messages(last:)`); "Load earlier" reads the page
 *   before the oldest held (`before:`);
 * - every message stored since, from anyone (this page, another tab, `kai chat`), from the
 *   agent's events after the newest seq held: a MESSAGE event's seq is its message's, so the
 *   events follow on from the history with no gap, and after a dropped connection they are
 *   followed again from the newest seq then held (client.ts `resume`);
 * - each message sent is a `sendMessage` subscription of its own (subscribeOnce), its answer
 *   growing chunk by chunk; stopping it (or leaving the page) ends the subscription, and the
 *   server keeps what was said, marked interrupted. While an exchange has ended and what it
 *   stored has not come yet, the newest page is read again every REREAD_MS.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useClient, useQuery, type CombinedError } from "urql";

import type { BusyPolicy } from "../../../gql/graphql";
import { subscribeOnce } from "../../client";
import { errorCode, type ErrorCode } from "../../errors";
import { SendMessageSubscription, ThreadEventsSubscription, ThreadQuery, messageOfEvent } from "./documents";
import {
  EMPTY,
  claims,
  ended,
  newestSeq,
  settled,
  shownByExchanges,
  withEarlier,
  withMessage,
  withNewest,
  type Exchange,
  type History,
} from "./history";

/** Messages a page of history holds. */
export const PAGE = 20;
const REREAD_MS = 1500;
const RETRIED: ReadonlySet<ErrorCode> = new Set(["UNAUTHENTICATED", "RATE_LIMITED", "SERVICE_UNAVAILABLE", "QUOTA_EXCEEDED"]);

export function useConversation(threadId: string) {
  const client = useClient();
  const [result, reread] = useQuery({
    query: ThreadQuery,
    variables: { id: threadId, last: PAGE, before: null },
    requestPolicy: "cache-and-network",
  });
  const [history, setHistory] = useState<History>(EMPTY);
  const [exchanges, setExchanges] = useState<readonly Exchange[]>([]);
  const [earlierError, setEarlierError] = useState<CombinedError | null>(null);
  const [loadingEarlier, setLoadingEarlier] = useState(false);
  const [liveError, setLiveError] = useState<CombinedError | null>(null);
  const [attempt, setAttempt] = useState(0);
  // Answering a message sent elsewhere (the thread's `busy`, or a CONFLICT), until an answer comes.
  const [busyElsewhere, setBusyElsewhere] = useState(false);
  const newest = useRef<number | null>(null);
  newest.current = newestSeq(history);
  const stops = useRef(new Map<number, () => void>());
  const nextKey = useRef(1);

  const thread = result.data?.thread ?? null;
  const agentId = thread?.agent.id ?? null;

  // The newest page, each time it is read.
  useEffect(() => {
    const page = result.data?.thread?.messages;
    if (page) setHistory((held) => withNewest(held, page));
    if (result.data?.thread && !result.stale) setBusyElsewhere(result.data.thread.busy && stops.current.size === 0);
  }, [result.data, result.stale]);

  // The messages stored since, as MESSAGE events.
  const following = history.read && agentId !== null;
  useEffect(() => {
    if (!following || agentId === null) return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const variables = () => ({ agentId, after: newest.current });
    const subscription = client
      .subscription(ThreadEventsSubscription, variables(), { resume: variables })
      .subscribe((answer) => {
        if (answer.error) {
          setLiveError(answer.error);
          const code = errorCode(answer.error);
          if (code === null || RETRIED.has(code)) retry = setTimeout(() => setAttempt((n) => n + 1), 5000);
          return;
        }
        const event = answer.data?.agentEvents;
        const message = event ? messageOfEvent(event, threadId) : null;
        if (!message) return;
        setLiveError(null);
        setHistory((held) => withMessage(held, message));
        if (message.role === "ASSISTANT") setBusyElsewhere(false);
      });
    return () => {
      subscription.unsubscribe();
      clearTimeout(retry);
    };
  }, [client, threadId, agentId, following, attempt]);

  const found = useMemo(() => claims(history.messages, exchanges), [history.messages, exchanges]);

  // Exchanges whose stored messages have come are dropped; those sent after them look for
  // their question after these.
  useEffect(() => {
    const done = exchanges.filter((x) => settled(x, found.get(x.key)));
    if (!done.length) return;
    const past = Math.max(...done.map((x) => found.get(x.key)?.answer?.seq ?? found.get(x.key)?.question?.seq ?? x.after));
    setExchanges((list) =>
      list.filter((x) => !done.some((d) => d.key === x.key)).map((x) => (x.after < past && !found.get(x.key)?.question ? { ...x, after: past } : x)),
    );
  }, [exchanges, found]);

  // Ended but not yet seen stored (the events lag, or do not come): read again.
  const waiting = exchanges.some((x) => ended(x) && !settled(x, found.get(x.key)));
  useEffect(() => {
    if (!waiting) return;
    const timer = window.setInterval(() => reread({ requestPolicy: "network-only" }), REREAD_MS);
    return () => window.clearInterval(timer);
  }, [waiting, reread]);

  // Leaving the page stops every answer (each is kept as far as it got).
  useEffect(() => {
    const held = stops.current;
    return () => {
      for (const stop of held.values()) stop();
    };
  }, []);

  const update = (key: number, change: (x: Exchange) => Exchange) => setExchanges((list) => list.map((x) => (x.key === key ? change(x) : x)));

  /** Sends `content`; `onFailed` hears a refusal or a failed answer (the page restores the text). */
  const send = useCallback(
    (content: string, onBusy: BusyPolicy, onFailed?: (error: CombinedError, answered: boolean) => void) => {
      const key = nextKey.current++;
      setExchanges((list) => [...list, { key, content, onBusy, after: newest.current ?? 0, chunks: [], state: "sending", error: null }]);
      let answered = false;
      const stop = subscribeOnce(SendMessageSubscription, { threadId, input: { content, onBusy } }, {
        next: ({ sendMessage: chunk }) => {
          answered ||= chunk.delta !== "";
          update(key, (x) => {
            const chunks = [...x.chunks];
            if (chunk.delta) chunks[chunk.index] = chunk.delta;
            return { ...x, chunks, state: chunk.done ? "done" : "answering" };
          });
        },
        error: (error) => {
          stops.current.delete(key);
          update(key, (x) => ({ ...x, state: "failed", error }));
          if (errorCode(error) === "CONFLICT") setBusyElsewhere(true);
          onFailed?.(error, answered);
        },
        complete: () => {
          stops.current.delete(key);
          // Ended without its last chunk (a dropped connection): what was said is kept.
          update(key, (x) => (ended(x) ? x : { ...x, state: x.chunks.length ? "stopped" : "withdrawn" }));
        },
      });
      stops.current.set(key, () => {
        stop();
        stops.current.delete(key);
        update(key, (x) => (ended(x) ? x : { ...x, state: x.chunks.length ? "stopped" : "withdrawn" }));
      });
    },
    [threadId],
  );

  const stop = useCallback((key: number) => stops.current.get(key)?.(), []);

  const loadEarlier = useCallback(async () => {
    const before = history.before;
    if (!before || loadingEarlier) return;
    setLoadingEarlier(true);
    const read = await client.query(ThreadQuery, { id: threadId, last: PAGE, before }, { requestPolicy: "network-only" }).toPromise();
    setLoadingEarlier(false);
    setEarlierError(read.error ?? null);
    const page = read.data?.thread?.messages;
    if (page) setHistory((held) => (held.before === before ? withEarlier(held, page) : held));
  }, [client, threadId, history.before, loadingEarlier]);

  const hidden = useMemo(() => shownByExchanges(exchanges, found), [exchanges, found]);
  return {
    /** The thread (null before the first answer, or when there is none the caller may see). */
    thread,
    fetching: result.fetching,
    error: result.error ?? null,
    /** Stored messages to show, oldest first (those an exchange still shows left out). */
    messages: history.messages.filter((m) => !hidden.has(m.id)),
    earlier: history.earlier,
    loadEarlier,
    loadingEarlier,
    earlierError,
    /** The messages sent from this page that are still shown as they go. */
    exchanges: exchanges.filter((x) => !settled(x, found.get(x.key))),
    /** The live events' error (they are followed again after a passing one). */
    liveError,
    busyElsewhere,
    send,
    stop,
  };
}
