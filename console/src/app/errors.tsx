/**
 * Errors in words: each kAI error's `extensions.code` (every value of ErrorCode in
 * graphql.schema), then the server's own message; network failures as what the user can do
 * about them.
 */
import { CombinedError } from "urql";

/**
 * The values of ErrorCode in graphql.schema. No field returns the enum, so codegen emits no
 * type for it: tests/test_console_auth.py checks that this list is the schema's, and the
 * Record below makes `tsc` ask for words for each.
 */
export const ERROR_CODES = [
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "BAD_USER_INPUT",
  "CONFLICT",
  "RATE_LIMITED",
  "QUOTA_EXCEEDED",
  "PAYLOAD_TOO_LARGE",
  "UNSUPPORTED_MEDIA_TYPE",
  "MALWARE_DETECTED",
  "AGENT_UNAVAILABLE",
  "QUERY_TOO_COMPLEX",
  "PERSISTED_QUERY_NOT_FOUND",
  "PERSISTED_QUERY_NOT_IN_LIST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "SERVICE_UNAVAILABLE",
  "INTERNAL_SERVER_ERROR",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

type Extensions = Record<string, unknown>;

function seconds(value: unknown): string {
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? `${Math.max(1, Math.ceil(n))} s` : "a moment";
}

const CODE_WORDS: Record<ErrorCode, (extensions: Extensions) => string> = {
  UNAUTHENTICATED: () => "You are not signed in, or your session has ended.",
  FORBIDDEN: (x) =>
    typeof x.permission === "string"
      ? `You do not have permission to do this (it needs ${x.permission}).`
      : "You do not have permission to do this.",
  NOT_FOUND: () => "Not found: it does not exist, or it is not yours.",
  BAD_USER_INPUT: (x) =>
    typeof x.field === "string" ? `The value of ${x.field} is not accepted.` : "A value you entered is not accepted.",
  CONFLICT: () => "This conflicts with the current state (already exists, or busy).",
  RATE_LIMITED: (x) => `Too many requests: try again in ${seconds(x.retryAfter)}.`,
  QUOTA_EXCEEDED: (x) => {
    const what = typeof x.quota === "string" ? ` (${x.quota}` + (x.limit !== undefined ? `, at most ${String(x.limit)})` : ")") : "";
    return `You have reached a limit of your account${what}.`;
  },
  PAYLOAD_TOO_LARGE: () => "That is larger than the server accepts.",
  UNSUPPORTED_MEDIA_TYPE: () => "That type of content is not accepted.",
  MALWARE_DETECTED: () => "The virus scanner found malware in the file; nothing was stored.",
  AGENT_UNAVAILABLE: () => "The agent could not answer (not running, away, or too slow).",
  QUERY_TOO_COMPLEX: () => "The request is too large or too complex for the server.",
  PERSISTED_QUERY_NOT_FOUND: () => "The server does not know this request (the console may be out of date: reload).",
  PERSISTED_QUERY_NOT_IN_LIST: () =>
    "This server runs only the requests on its list, and this one is not on it (the console may be out of date: reload).",
  GRAPHQL_PARSE_FAILED: () => "The server could not read the request.",
  GRAPHQL_VALIDATION_FAILED: () => "The request does not match the server's API (the console may be out of date: reload).",
  SERVICE_UNAVAILABLE: () => "The server is busy or a service it needs is away: try again shortly.",
  INTERNAL_SERVER_ERROR: (x) =>
    typeof x.requestId === "string"
      ? `Something went wrong on the server (request ${x.requestId}).`
      : "Something went wrong on the server.",
};

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(CODE_WORDS, code);
}

/** Words a page puts in place of the usual ones for some codes (a refused sign-in is not an
 * ended session). */
export type Words = Partial<Record<ErrorCode, string>>;

/** One error in words: the code's words, then the server's message when it says more. */
export function describeGraphQLError(error: { message: string; extensions?: Extensions | null }, words: Words = {}): string {
  const extensions = error.extensions ?? {};
  const code = extensions.code;
  if (!isErrorCode(code)) return error.message || "Something went wrong.";
  const said = words[code] ?? CODE_WORDS[code](extensions);
  const message = error.message.trim();
  return message && !said.includes(message) ? `${said} ${message.endsWith(".") ? message : `${message}.`}` : said;
}

function describeNetworkError(error: Error): string {
  if (typeof navigator !== "undefined" && navigator.onLine === false) {
    return "You are offline: the server cannot be reached.";
  }
  if (/live connection/i.test(error.message)) return error.message + ".";
  return `The server could not be reached (${error.message || "network error"}). Check your connection and try again.`;
}

/** The messages of an error, each in words. */
export function describeErrors(error: unknown, words: Words = {}): string[] {
  if (error === null || error === undefined) return [];
  if (error instanceof CombinedError) {
    if (error.graphQLErrors.length > 0) {
      return error.graphQLErrors.map((e) => describeGraphQLError({ message: e.message, extensions: e.extensions as Extensions }, words));
    }
    if (error.networkError) return [describeNetworkError(error.networkError)];
    return [error.message];
  }
  if (Array.isArray(error)) return error.flatMap((e) => describeErrors(e, words));
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    const extensions = "extensions" in error ? (error.extensions as Extensions | null) : null;
    if (extensions && "code" in extensions) return [describeGraphQLError({ message: error.message, extensions }, words)];
    if (error instanceof Error) return [describeNetworkError(error)];
    return [error.message];
  }
  return [String(error)];
}

/** The error in words, all of its messages joined. */
export function describeError(error: unknown, words: Words = {}): string {
  return describeErrors(error, words).join(" ");
}

/** The code of an error's first GraphQL error, if it has one. */
export function errorCode(error: unknown): ErrorCode | null {
  if (error instanceof CombinedError) {
    const code = error.graphQLErrors[0]?.extensions?.code;
    return isErrorCode(code) ? code : null;
  }
  return null;
}

/** Shows an error (or nothing for null) as an alert: each message on its own line. */
export function ErrorMessage({ error, id, words }: { error: unknown; id?: string; words?: Words }) {
  const messages = describeErrors(error, words);
  if (messages.length === 0) return null;
  return (
    <div className="error" role="alert" id={id}>
      {messages.length === 1 ? (
        <p>{messages[0]}</p>
      ) : (
        <ul>
          {messages.map((message, index) => (
            <li key={index}>{message}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
