/**
 * The session's tokens, kept outside React so that the network layer (client.ts) can read and
 * renew them. The access token lives only in this module's memory; the refresh token lives in
 * this origin's localStorage (console/README.md says why), so that a reload or a second tab
 * keeps the session.
 *
 * kAI rotates refresh tokens: each one works once, and presenting a spent one revokes the
 * whole session. So a refresh is sent once and never retried with the same token; refreshes
 * are serialised within this tab (callers join the one in flight) and across this origin's
 * tabs (a Web Lock, then the token is read again from storage, since another tab may have
 * rotated it meanwhile); and none is sent while the browser says it is offline.
 */
import { graphql } from "../gql";
import type { ResultOf } from "@graphql-typed-document-node/core";
import { documentIdOf } from "./persisted";

export const REFRESH_TOKEN_KEY = "kai.console.refreshToken";
const LOCK_NAME = "kai.console.refresh";

export const AuthPayloadFields = graphql(`
  fragment AuthPayloadFields on AuthPayload {
    accessToken
    refreshToken
    expiresAt
    user {
      id
      email
      displayName
      role
    }
  }
`);

export const RefreshTokenMutation = graphql(`
  mutation ConsoleRefreshToken($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) {
      ...AuthPayloadFields
    }
  }
`);

export type AuthPayload = ResultOf<typeof AuthPayloadFields>;
export type SessionUser = AuthPayload["user"];

export type AuthState = {
  /** "restoring": a refresh token was found and is being exchanged for an access token. */
  readonly status: "restoring" | "signed-in" | "signed-out";
  readonly accessToken: string | null;
  readonly user: SessionUser | null;
  /** When this tab believes the access token expires (its own clock, ms since epoch). */
  readonly expiresAt: number | null;
  /** Why the session ended, when it ended by itself (shown on the sign-in page). */
  readonly endedBecause: string | null;
};

let state: AuthState = {
  status: storedRefreshToken() ? "restoring" : "signed-out",
  accessToken: null,
  user: null,
  expiresAt: null,
  endedBecause: null,
};
const listeners = new Set<() => void>();
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let inFlight: Promise<string | null> | null = null;

export function getAuthState(): AuthState {
  return state;
}

export function subscribeAuth(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function setState(next: Partial<AuthState>): void {
  state = { ...state, ...next };
  for (const listener of [...listeners]) listener();
}

function storedRefreshToken(): string | null {
  try {
    return window.localStorage.getItem(REFRESH_TOKEN_KEY);
  } catch {
    return null; // storage disabled: the session lasts as long as this page
  }
}

function storeRefreshToken(token: string | null): void {
  try {
    if (token === null) window.localStorage.removeItem(REFRESH_TOKEN_KEY);
    else window.localStorage.setItem(REFRESH_TOKEN_KEY, token);
  } catch {
    // storage disabled: nothing to keep
  }
}

/**
 * How long the access token lives, from its own claims (exp - iat), so that a client clock
 * that disagrees with the server's does not matter; `expiresAt` when the token is not a
 * readable JWT.
 */
function lifetimeMs(payload: AuthPayload): number {
  try {
    const part = payload.accessToken.split(".")[1] ?? "";
    const claims = JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/"))) as {
      exp?: unknown;
      iat?: unknown;
    };
    if (typeof claims.exp === "number" && typeof claims.iat === "number" && claims.exp > claims.iat) {
      return (claims.exp - claims.iat) * 1000;
    }
  } catch {
    // not a JWT we can read
  }
  return Math.max(0, Date.parse(payload.expiresAt) - Date.now());
}

/** Accepts a new token pair (from sign-in, registration, a magic link or a refresh). */
export function acceptPayload(payload: AuthPayload): void {
  storeRefreshToken(payload.refreshToken);
  const lifetime = lifetimeMs(payload);
  const expiresAt = Date.now() + lifetime;
  setState({
    status: "signed-in",
    accessToken: payload.accessToken,
    user: payload.user,
    expiresAt,
    endedBecause: null,
  });
  // Renew shortly before it expires: a minute before, or at 80% of a short lifetime.
  clearTimeout(refreshTimer);
  const delay = Math.max(1000, lifetime - Math.min(60_000, lifetime * 0.2));
  refreshTimer = setTimeout(() => void refresh(payload.accessToken), delay);
}

/** Forgets the session in this tab and in storage (sign-out, or a session that ended). */
export function endSession(reason: string | null): void {
  clearTimeout(refreshTimer);
  storeRefreshToken(null);
  setState({ status: "signed-out", accessToken: null, user: null, expiresAt: null, endedBecause: reason });
}

function whenOnline(): Promise<void> {
  if (navigator.onLine !== false) return Promise.resolve();
  return new Promise((resolve) => window.addEventListener("online", () => resolve(), { once: true }));
}

async function withRefreshLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return work(); // no Web Locks (an insecure origin): this tab's own serialisation only
  return locks.request(LOCK_NAME, work);
}

/** What the server said about a refresh, in words. */
function refusal(body: unknown): string {
  const errors = (body as { errors?: { message?: string; extensions?: { code?: string } }[] })?.errors;
  const first = errors?.[0];
  if (first?.extensions?.code === "UNAUTHENTICATED") return "Your session has ended; sign in again.";
  if (first?.message) return `Your session could not be renewed (${first.message}); sign in again.`;
  return "Your session could not be renewed; sign in again.";
}

/**
 * Spends the refresh token for a new pair; resolves to the new access token, or null when
 * the session has ended. `stale` is the access token the caller found wanting: when another
 * refresh has replaced it meanwhile, that newer token is the answer and nothing is spent.
 */
export function refresh(stale: string | null = null): Promise<string | null> {
  if (inFlight) return inFlight;
  if (stale !== null && state.accessToken !== null && state.accessToken !== stale) {
    return Promise.resolve(state.accessToken);
  }
  inFlight = (async () => {
    try {
      await whenOnline();
      return await withRefreshLock(async () => {
        // Another tab may have rotated the token while this one waited for the lock.
        const token = storedRefreshToken();
        if (token === null) {
          endSession(state.status === "signed-out" ? state.endedBecause : "You signed out in another tab.");
          return null;
        }
        let body: unknown;
        try {
          const response = await fetch("/graphql", {
            method: "POST",
            headers: {
              "content-type": "application/json",
              accept: "application/graphql-response+json, application/json",
            },
            body: JSON.stringify({
              documentId: documentIdOf(RefreshTokenMutation),
              operationName: "ConsoleRefreshToken",
              variables: { refreshToken: token },
            }),
          });
          body = await response.json();
        } catch {
          // The token may or may not have been spent: it is never sent again.
          endSession("The server could not be reached to renew your session; sign in again.");
          return null;
        }
        const payload = (body as { data?: ResultOf<typeof RefreshTokenMutation> | null })?.data?.refreshToken;
        if (!payload) {
          endSession(refusal(body));
          return null;
        }
        acceptPayload(payload);
        return payload.accessToken;
      });
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

/** An access token good for at least a few more seconds (renewed first when it is not), or null. */
export async function freshAccessToken(): Promise<string | null> {
  if (inFlight) return inFlight;
  if (state.status === "restoring") return refresh();
  if (state.accessToken === null) return null;
  if (state.expiresAt !== null && state.expiresAt - Date.now() < 5000) return refresh(state.accessToken);
  return state.accessToken;
}

// Another tab signed out (the stored token is gone): so does this one.
window.addEventListener("storage", (event) => {
  if (event.key === REFRESH_TOKEN_KEY && event.newValue === null && state.status === "signed-in") {
    endSession("You signed out in another tab.");
  }
});

// A tab in the background gets its timers late: check again when it is shown.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && state.status === "signed-in") void freshAccessToken();
});
