/**
 * The console's one urql Client, on this origin's /graphql:
 *
 * - queries and mutations over HTTP POST (never GET: production refuses GET queries), with the
 *   session's access token; an UNAUTHENTICATED answer renews the token once (auth.ts) and
 *   sends the request once more;
 * - subscriptions over graphql-ws on the same URL, signed in by connection_init's
 *   `authorization` (kAI reads a socket's credential only from there). A socket that drops
 *   after it was up is reconnected for ever, with backoff (at once when the browser comes back
 *   online), and graphql-ws subscribes its operations again; `connection` below tells pages
 *   that it dropped and came back;
 * - graphql-sse (POST /graphql, Accept: text/event-stream, one connection per operation) when a
 *   WebSocket cannot connect at all (a proxy that does not pass them): from then on, every
 *   subscription of this page goes over SSE. A browser holds at most six HTTP/1.1
 *   connections to one origin, and each SSE operation keeps one for as long as it runs: at
 *   most SSE_STREAMS of them run at once (the others wait their turn), so that queries,
 *   mutations and a navigation always find a free connection. Pages that would follow many
 *   things at once (a list's rows) read the list again every POLL_OVER_SSE_MS instead
 *   (`useLiveOverSse`).
 *
 * An operation whose context says `oneShot: true` (a prompt: sending it again would ask the
 * agent again) gets a socket of its own that is never reconnected and never restarted;
 * `subscribeOnce` runs one so outside urql (a thread's message: see there why).
 *
 * An operation whose context has `resume` (agentEvents) is subscribed again, after a drop, with
 * the variables `resume()` returns at that moment (its `after`: the last seq the page holds),
 * not the ones it started with: both transports serialise the request anew for each attempt.
 *
 * No document travels as text (persisted.ts): queries and mutations carry their APQ hash,
 * subscriptions their `documentId`, each the id codegen listed it under in the console's
 * manifest, which the server that serves this console always runs.
 */
import { Client, CombinedError, cacheExchange, fetchExchange, subscriptionExchange } from "urql";
import type { ExecutionResult, Operation, SubscriptionForwarder, TypedDocumentNode } from "urql";
import { persistedExchange } from "@urql/exchange-persisted";
import { createClient as createSseClient } from "graphql-sse";
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws";
import { useEffect, useRef, useSyncExternalStore } from "react";

import { freshAccessToken, getAuthState, refresh, subscribeAuth } from "./auth";
import { namedRequest, sha256Of, type NamedRequest } from "./persisted";

declare module "@urql/core" {
  interface OperationContext {
    /** Never send this operation twice: no reconnect, no restart (streamPrompt). */
    oneShot?: boolean;
    /** The variables to subscribe with again after a drop (agentEvents' `after`). */
    resume?: () => Record<string, unknown>;
  }
}

export const GRAPHQL_PATH = "/graphql";

function webSocketUrl(): string {
  const url = new URL(GRAPHQL_PATH, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

/* ------------------------------------------------------------------ connection state */

export type Transport = "websocket" | "sse";
export type ConnectionState = {
  /** How subscriptions travel now. */
  readonly transport: Transport;
  /** Whether the shared socket is up (always true over SSE, where each operation has its own). */
  readonly connected: boolean;
  /** Counts the socket's successful connections after the first: each one is a reconnection. */
  readonly reconnections: number;
  /** When the socket last dropped (ms since epoch), while it is down. */
  readonly droppedAt: number | null;
};

let connection: ConnectionState = { transport: "websocket", connected: false, reconnections: 0, droppedAt: null };
const connectionListeners = new Set<() => void>();

function setConnection(next: Partial<ConnectionState>): void {
  connection = { ...connection, ...next };
  for (const listener of [...connectionListeners]) listener();
}

/** For useSyncExternalStore: the live connection's state. */
export function getConnection(): ConnectionState {
  return connection;
}

export function subscribeConnection(listener: () => void): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

/** Calls `callback` each time the live connection comes back after a drop (what was read
 * before it may be stale, and a read that failed meanwhile should be made again). */
export function useReconnected(callback: () => void): void {
  const { reconnections } = useSyncExternalStore(subscribeConnection, getConnection);
  const latest = useRef(callback);
  useEffect(() => {
    latest.current = callback;
  }, [callback]);
  const seen = useRef(reconnections);
  useEffect(() => {
    if (reconnections === seen.current) return;
    seen.current = reconnections;
    latest.current();
  }, [reconnections]);
}

/** How often a list that follows its rows live over a WebSocket is read again over SSE. */
export const POLL_OVER_SSE_MS = 10_000;

/** True while subscriptions travel over SSE, where a page should not hold one stream per
 * row of a list; and then, every POLL_OVER_SSE_MS, calls `reread` (which reads the list
 * again from the network). */
export function useLiveOverSse(reread?: () => void): boolean {
  const { transport } = useSyncExternalStore(subscribeConnection, getConnection);
  const overSse = transport === "sse";
  const latest = useRef(reread);
  useEffect(() => {
    latest.current = reread;
  }, [reread]);
  useEffect(() => {
    if (!overSse || !latest.current) return;
    const timer = window.setInterval(() => latest.current?.(), POLL_OVER_SSE_MS);
    return () => window.clearInterval(timer);
  }, [overSse]);
  return overSse;
}

/* ------------------------------------------------------------------ HTTP */

function hasUnauthenticated(body: unknown): boolean {
  const errors = (body as { errors?: { extensions?: { code?: unknown } }[] } | null)?.errors;
  return Array.isArray(errors) && errors.some((error) => error?.extensions?.code === "UNAUTHENTICATED");
}

function withToken(init: RequestInit | undefined, token: string | null): RequestInit {
  const headers = new Headers(init?.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  else headers.delete("authorization");
  return { ...init, headers };
}

// Operations that carry their own credential (a password, a magic link's token): sent without
// the session's token, and an UNAUTHENTICATED answer is theirs, not an expired session's.
const CREDENTIAL_OPERATIONS = new Set(["ConsoleLogin", "ConsoleRegister", "ConsoleVerifyMagicLink", "ConsoleRequestMagicLink"]);

function operationName(init: RequestInit | undefined): string | null {
  if (typeof init?.body !== "string") return null;
  try {
    const name = (JSON.parse(init.body) as { operationName?: unknown }).operationName;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}

/** fetch with the session's token; once more with a renewed token after UNAUTHENTICATED. */
export const authFetch: typeof fetch = async (input, init) => {
  const name = operationName(init);
  if (name !== null && CREDENTIAL_OPERATIONS.has(name)) return fetch(input, withToken(init, null));
  const token = await freshAccessToken();
  const response = await fetch(input, withToken(init, token));
  if (!token || !(response.headers.get("content-type") ?? "").includes("json")) return response;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return response;
  }
  if (!hasUnauthenticated(body)) return response;
  const renewed = await refresh(token);
  if (!renewed || renewed === token) return response;
  return fetch(input, withToken(init, renewed));
};

/* ------------------------------------------------------------------ WebSocket */

async function connectionParams(): Promise<Record<string, string>> {
  const token = await freshAccessToken();
  if (!token) throw new Error("Not signed in");
  return { authorization: `Bearer ${token}` };
}

// Waits between reconnection attempts; the browser coming back online ends the wait at once.
const waiting = new Set<() => void>();

function randomWait(retries: number): Promise<void> {
  // 0.3-1.5 s first (a restarted server is met by every console at once), then doubling to 30 s.
  const base = retries === 0 ? 300 : Math.min(30_000, 1000 * 2 ** retries);
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      waiting.delete(done);
      resolve();
    };
    const timer = setTimeout(done, base + Math.random() * 1200);
    waiting.add(done);
  });
}

window.addEventListener("online", () => {
  for (const done of [...waiting]) done();
});

let everConnected = false;
let openSocket: WebSocket | null = null;
let socketToken: string | null = null;
// Why the socket last closed, when this side closed it: an idle socket (no operation left) or
// a restart with a renewed token is not a dropped connection.
let closingOnPurpose = false;
let droppedSinceConnected = false;
const PONG_TIMEOUT = 5000;
let pongTimer: ReturnType<typeof setTimeout> | undefined;

const ws: WsClient = createWsClient({
  url: webSocketUrl,
  lazy: true,
  // Moving between pages does not close and reopen the socket.
  lazyCloseTimeout: 3000,
  // A ping every 10 s; a socket whose pong does not come within PONG_TIMEOUT is given up
  // (the network went away without closing it) and reconnected.
  keepAlive: 10_000,
  retryAttempts: Number.POSITIVE_INFINITY,
  retryWait: randomWait,
  // Reconnect whatever closed a socket that once worked (kAI closes 4403 when the token it
  // was opened with expires, and the next connection_init carries the renewed one); a socket
  // that never connected is not retried: the operation falls back to SSE instead.
  shouldRetry: () => everConnected,
  connectionParams: async () => {
    const params = await connectionParams();
    socketToken = params.authorization ?? null;
    return params;
  },
  on: {
    opened: (socket) => {
      openSocket = socket as WebSocket;
    },
    ping: (received) => {
      if (received) return;
      clearTimeout(pongTimer);
      pongTimer = setTimeout(() => ws.terminate(), PONG_TIMEOUT);
    },
    pong: (received) => {
      if (received) clearTimeout(pongTimer);
    },
    connected: () => {
      everConnected = true;
      const reconnected = droppedSinceConnected;
      droppedSinceConnected = false;
      setConnection({
        connected: true,
        droppedAt: null,
        reconnections: connection.reconnections + (reconnected ? 1 : 0),
      });
    },
    closed: (event) => {
      openSocket = null;
      clearTimeout(pongTimer);
      const code = isCloseEvent(event) ? event.code : 0;
      // 1000: graphql-ws closed an idle socket; 4205: this module restarted it.
      const onPurpose = closingOnPurpose || code === 1000 || code === 4205;
      closingOnPurpose = false;
      // 4403: the server no longer accepts the socket's credential. Renew it (unless that was
      // done meanwhile): the next connection carries the new token, or, when the session has
      // ended, the console says so instead of knocking again and again.
      if (code === 4403 && socketToken?.startsWith("Bearer ")) void refresh(socketToken.slice(7));
      if (!connection.connected) return;
      if (onPurpose) {
        setConnection({ connected: false, droppedAt: null });
      } else {
        droppedSinceConnected = true;
        setConnection({ connected: false, droppedAt: Date.now() });
      }
    },
  },
});

// The browser knows its network is gone: the socket is, too, whatever it says (a socket on a
// dead network stays "open" until its pings go unanswered).
window.addEventListener("offline", () => {
  if (connection.connected && connection.transport === "websocket") ws.terminate();
});

// A renewed or changed token: open the socket again with it, before the old one expires and
// the server closes it (4205 is graphql-ws's own "client restart", which it reconnects).
subscribeAuth(() => {
  const { accessToken } = getAuthState();
  const current = accessToken ? `Bearer ${accessToken}` : null;
  if (openSocket && socketToken !== null && socketToken !== current && openSocket.readyState === WebSocket.OPEN) {
    closingOnPurpose = true;
    openSocket.close(4205, "Client Restart");
  }
});

/* ------------------------------------------------------------------ SSE */

const sseOptions = {
  url: GRAPHQL_PATH,
  singleConnection: false as const,
  headers: async (): Promise<Record<string, string>> => {
    const token = await freshAccessToken();
    return token ? { authorization: `Bearer ${token}` } : {};
  },
};
const sse = createSseClient({ ...sseOptions, retryAttempts: 5 });
const sseOnce = createSseClient({ ...sseOptions, retryAttempts: 0 });

/** SSE operations running at once: two of the browser's six connections per origin are left
 * for queries, mutations and page loads (with all six held by streams that never end, every
 * other request of the origin, a navigation included, waits for ever). */
export const SSE_STREAMS = 4;

let sseRunning = 0;
const sseWaiting: (() => void)[] = [];

/** Runs `start` when an SSE slot is free; what it returns stops it. The slot is given back
 * when the operation ends or is stopped, and a stop before it started takes it off the queue. */
function inSseSlot(start: (done: () => void) => () => void): () => void {
  let stop: (() => void) | null = null;
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    sseRunning -= 1;
    sseWaiting.shift()?.();
  };
  const run = () => {
    sseRunning += 1;
    stop = start(release);
  };
  if (sseRunning < SSE_STREAMS) run();
  else sseWaiting.push(run);
  return () => {
    if (stop) {
      stop();
      release();
    } else {
      const at = sseWaiting.indexOf(run);
      if (at >= 0) sseWaiting.splice(at, 1);
    }
  };
}

/* ------------------------------------------------------------------ forwarding */

type Sink = { next: (value: ExecutionResult) => void; error: (error: unknown) => void; complete: () => void };

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return typeof value === "object" && value !== null && "code" in value && "reason" in value;
}

/** An Error in words for what a transport threw (urql shows it as a network error). */
function transportError(error: unknown): unknown {
  if (Array.isArray(error) || error instanceof Error) return error;
  if (isCloseEvent(error)) {
    const why = error.reason ? `: ${error.reason}` : "";
    return new Error(`The live connection closed (code ${error.code}${why})`);
  }
  return new Error("The live connection failed");
}

/** A WebSocket that could not connect at all (not a refusal by kAI, which closes with 4xxx). */
function couldNotConnect(error: unknown): boolean {
  if (everConnected) return false;
  return !isCloseEvent(error) || error.code < 4000;
}

function overSse(request: NamedRequest, sink: Sink, oneShot: boolean): () => void {
  return inSseSlot((done) =>
    (oneShot ? sseOnce : sse).subscribe(request, {
      next: (value) => sink.next(value as ExecutionResult),
      error: (error) => {
        done();
        sink.error(transportError(error));
      },
      complete: () => {
        done();
        sink.complete();
      },
    }),
  );
}

function overWebSocket(request: NamedRequest, sink: Sink): () => void {
  let stop = ws.subscribe(request, {
    next: (value) => sink.next(value as ExecutionResult),
    complete: () => sink.complete(),
    error: (error) => {
      if (couldNotConnect(error)) {
        setConnection({ transport: "sse", connected: true, droppedAt: null });
        stop = overSse(request, sink, false);
      } else {
        sink.error(transportError(error));
      }
    },
  });
  return () => stop();
}

/** A prompt: a socket of its own, closed when it ends, never reconnected. */
function overOwnSocket(request: NamedRequest, sink: Sink): () => void {
  const own = createWsClient({ url: webSocketUrl, lazy: true, retryAttempts: 0, connectionParams });
  let connected = false;
  own.on("connected", () => {
    connected = true;
  });
  let stop = own.subscribe(request, {
    next: (value) => sink.next(value as ExecutionResult),
    complete: () => {
      sink.complete();
      void own.dispose();
    },
    error: (error) => {
      void own.dispose();
      if (!connected && couldNotConnect(error)) {
        setConnection({ transport: "sse", connected: true, droppedAt: null });
        stop = overSse(request, sink, true);
      } else {
        sink.error(transportError(error));
      }
    },
  });
  return () => {
    stop();
    void own.dispose();
  };
}

/** A subscription run once, outside urql's Client, which shares one operation between every
 * subscriber with the same document and variables: two messages of the same text sent to a
 * thread are two messages, each with its own answer. Like `oneShot`, it is never reconnected
 * or restarted. Errors come as urql gives them (a CombinedError). What it returns stops it. */
export function subscribeOnce<Data, Variables extends Record<string, unknown>>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
  sink: { next: (data: Data) => void; error: (error: CombinedError) => void; complete: () => void },
): () => void {
  const request = namedRequest(document, () => variables);
  let over = false;
  const end = (then: () => void) => {
    if (over) return;
    over = true;
    then();
  };
  const forward: Sink = {
    next: (value) => {
      const errors = value.errors;
      if (over) return;
      if (errors?.length) end(() => sink.error(new CombinedError({ graphQLErrors: [...errors], response: value })));
      else if (value.data) sink.next(value.data as Data);
    },
    error: (error) =>
      end(() =>
        sink.error(
          Array.isArray(error)
            ? new CombinedError({ graphQLErrors: error })
            : new CombinedError({ networkError: error instanceof Error ? error : new Error(String(error)) }),
        ),
      ),
    complete: () => end(sink.complete),
  };
  const stop = connection.transport === "sse" ? overSse(request, forward, true) : overOwnSocket(request, forward);
  return () => {
    over = true;
    stop();
  };
}

const forwardSubscription: SubscriptionForwarder = (body, operation: Operation) => ({
  subscribe(sink) {
    const started = body.variables as Record<string, unknown> | undefined;
    const request = namedRequest(
      operation.query,
      operation.context.resume ?? (() => started),
      body.extensions as Record<string, unknown> | undefined,
    );
    const oneShot = operation.context.oneShot === true;
    let unsubscribe: () => void;
    if (connection.transport === "sse") unsubscribe = overSse(request, sink, oneShot);
    else if (oneShot) unsubscribe = overOwnSocket(request, sink);
    else unsubscribe = overWebSocket(request, sink);
    return { unsubscribe: () => unsubscribe() };
  },
});

export const client = new Client({
  url: GRAPHQL_PATH,
  // Production refuses queries over GET (a CSRF surface): POST only.
  preferGetMethod: false,
  fetch: authFetch,
  requestPolicy: "cache-and-network",
  exchanges: [
    cacheExchange,
    persistedExchange({
      // The hash codegen listed the document under, not that of a text printed here; and
      // never the text instead (the server knows every document of the console).
      generateHash: async (_text, document) => sha256Of(document),
      enforcePersistedQueries: true,
      enableForMutation: true,
      preferGetForPersistedQueries: false,
    }),
    subscriptionExchange({ forwardSubscription }),
    fetchExchange,
  ],
});
