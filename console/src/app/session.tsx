/**
 * Who is signed in, for React: the state of auth.ts (tokens, user) and the actions that change
 * it. Each action answers with the CombinedError that stopped it, or null, for a form to show.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, useSyncExternalStore, type ReactNode } from "react";
import type { CombinedError } from "urql";

import { graphql } from "../gql";
import { acceptPayload, endSession, getAuthState, refresh, subscribeAuth, type AuthState, type SessionUser } from "./auth";
import { client } from "./client";

const LoginMutation = graphql(`
  mutation ConsoleLogin($input: LoginInput!) {
    login(input: $input) {
      ...AuthPayloadFields
    }
  }
`);

const RegisterMutation = graphql(`
  mutation ConsoleRegister($input: RegisterInput!) {
    register(input: $input) {
      ...AuthPayloadFields
    }
  }
`);

const VerifyMagicLinkMutation = graphql(`
  mutation ConsoleVerifyMagicLink($token: String!) {
    verifyMagicLink(token: $token) {
      ...AuthPayloadFields
    }
  }
`);

const RequestMagicLinkMutation = graphql(`
  mutation ConsoleRequestMagicLink($email: String!) {
    requestMagicLink(email: $email)
  }
`);

const LogoutMutation = graphql(`
  mutation ConsoleLogout {
    logout
  }
`);

const SessionPermissionsQuery = graphql(`
  query ConsoleSessionPermissions {
    session {
      id
      permissions
    }
  }
`);

export type Session = {
  readonly status: AuthState["status"];
  readonly user: SessionUser | null;
  readonly accessToken: string | null;
  /** Why the session ended by itself (expired, revoked, signed out in another tab), if it did. */
  readonly endedBecause: string | null;
  /** The session's permissions (role matrix), once loaded; null before. */
  readonly permissions: readonly string[] | null;
  /** Whether the session holds `permission` (patterns like agent.* count). */
  can(permission: string): boolean;
  signIn(email: string, password: string): Promise<CombinedError | null>;
  signInWithMagicLink(token: string): Promise<CombinedError | null>;
  requestMagicLink(email: string): Promise<CombinedError | null>;
  register(email: string, password: string, displayName: string): Promise<CombinedError | null>;
  signOut(): Promise<void>;
};

const SessionContext = createContext<Session | null>(null);

export function grants(permissions: readonly string[], permission: string): boolean {
  return permissions.some(
    (held) => held === "*" || held === permission || (held.endsWith("*") && permission.startsWith(held.slice(0, -1))),
  );
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const auth = useSyncExternalStore(subscribeAuth, getAuthState);

  // A stored refresh token from an earlier visit: exchange it for an access token.
  useEffect(() => {
    if (getAuthState().status === "restoring") void refresh();
  }, []);

  const [permissions, setPermissions] = usePermissions(auth);

  const signIn = useCallback(async (email: string, password: string) => {
    const result = await client.mutation(LoginMutation, { input: { email, password } }).toPromise();
    if (result.data?.login) acceptPayload(result.data.login);
    return result.error ?? null;
  }, []);

  const signInWithMagicLink = useCallback(async (token: string) => {
    const result = await client.mutation(VerifyMagicLinkMutation, { token }).toPromise();
    if (result.data?.verifyMagicLink) acceptPayload(result.data.verifyMagicLink);
    return result.error ?? null;
  }, []);

  const requestMagicLink = useCallback(async (email: string) => {
    const result = await client.mutation(RequestMagicLinkMutation, { email }).toPromise();
    return result.error ?? null;
  }, []);

  const register = useCallback(async (email: string, password: string, displayName: string) => {
    const input = { email, password, displayName: displayName.trim() || null };
    const result = await client.mutation(RegisterMutation, { input }).toPromise();
    if (result.data?.register) acceptPayload(result.data.register);
    return result.error ?? null;
  }, []);

  const signOut = useCallback(async () => {
    // Revoke the session on the server first (its tokens stop working at once), then forget
    // it here whatever the answer: an unreachable server must not keep the user signed in.
    if (getAuthState().accessToken) {
      await client.mutation(LogoutMutation, {}).toPromise();
    }
    endSession(null);
    setPermissions(null);
  }, [setPermissions]);

  const value = useMemo<Session>(
    () => ({
      status: auth.status,
      user: auth.user,
      accessToken: auth.accessToken,
      endedBecause: auth.endedBecause,
      permissions,
      can: (permission: string) => permissions !== null && grants(permissions, permission),
      signIn,
      signInWithMagicLink,
      requestMagicLink,
      register,
      signOut,
    }),
    [auth, permissions, signIn, signInWithMagicLink, requestMagicLink, register, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The permissions of the signed-in user's session, loaded once per user. */
function usePermissions(auth: AuthState) {
  const userId = auth.user?.id ?? null;
  const signedIn = auth.status === "signed-in";
  const [state, setState] = useStateWithReset<readonly string[] | null>(null, userId);
  useEffect(() => {
    if (!signedIn || userId === null) return;
    let cancelled = false;
    void client
      .query(SessionPermissionsQuery, {}, { requestPolicy: "network-only" })
      .toPromise()
      .then((result) => {
        if (!cancelled && result.data) setState(result.data.session.permissions);
      });
    return () => {
      cancelled = true;
    };
  }, [signedIn, userId, setState]);
  return [state, setState] as const;
}

/** useState that goes back to `initial` when `key` changes. */
function useStateWithReset<T>(initial: T, key: unknown) {
  const [held, setHeld] = useState<{ key: unknown; value: T }>({ key, value: initial });
  const value = held.key === key ? held.value : initial;
  const set = useCallback((next: T) => setHeld({ key, value: next }), [key]);
  return [value, set] as const;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}
