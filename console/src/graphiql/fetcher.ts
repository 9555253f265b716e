/**
 * GraphiQL's fetcher for kAI: queries and mutations over HTTP POST, subscriptions over
 * graphql-ws on the same URL. The header editor's headers go with both: as HTTP headers, and
 * as the WebSocket's connection_init payload (kAI authenticates a socket from its
 * `authorization` there, since a browser cannot set headers on a WebSocket).
 */
import type { Fetcher, FetcherOpts, FetcherParams } from "@graphiql/toolkit";
import {
  type ExecutionResult,
  type FormattedExecutionResult,
  getOperationAST,
  parse,
} from "graphql";
import { type Client, createClient } from "graphql-ws";

type Headers = Record<string, string>;

/** The headers that say something: an empty value is the editor's placeholder. */
function presentHeaders(headers: FetcherOpts["headers"]): Headers {
  const present: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (typeof value === "string" && value.trim() !== "") present[name] = value;
  }
  return present;
}

function isSubscription(params: FetcherParams): boolean {
  try {
    const operation = getOperationAST(parse(params.query), params.operationName ?? undefined);
    return operation?.operation === "subscription";
  } catch {
    return false; // the server reports the syntax error
  }
}

export function webSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  url.search = "";
  return url.toString();
}

/**
 * graphql-ws yields results as the server sent them (errors are plain objects, not
 * GraphQLError instances); GraphiQL prints either. Stopping the subscription in GraphiQL
 * returns this generator, which returns graphql-ws's iterator and so completes the operation.
 */
async function* asExecutionResults(
  results: AsyncIterable<FormattedExecutionResult>,
): AsyncGenerator<ExecutionResult> {
  for await (const result of results) yield result as ExecutionResult;
}

export function kaiFetcher(url: string): Fetcher {
  // One socket per set of headers: a new token in the editor opens a socket signed in as it.
  let socket: { key: string; client: Client } | undefined;
  const socketFor = (headers: Headers): Client => {
    const key = JSON.stringify(headers);
    if (socket?.key !== key) {
      void socket?.client.dispose();
      const connectionParams: Record<string, string> = {};
      for (const [name, value] of Object.entries(headers)) {
        connectionParams[name.toLowerCase()] = value;
      }
      socket = { key, client: createClient({ url: webSocketUrl(url), connectionParams, lazy: true }) };
    }
    return socket.client;
  };

  return (params: FetcherParams, opts?: FetcherOpts) => {
    const headers = presentHeaders(opts?.headers);
    if (isSubscription(params)) {
      return asExecutionResults(
        socketFor(headers).iterate({
          query: params.query,
          variables: params.variables ?? undefined,
          operationName: params.operationName ?? undefined,
        }),
      );
    }
    return fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...headers,
      },
      body: JSON.stringify(params),
    })
      .then((response) => response.json() as Promise<ExecutionResult>)
      .then(printableIntrospection);
  };
}

type TypeRef = { kind: string; name?: string | null; ofType?: TypeRef | null };
type InputValue = { type: TypeRef; defaultValue?: string | null; description?: string | null };
type IntrospectedType = {
  fields?: { args?: InputValue[] }[] | null;
  inputFields?: InputValue[] | null;
};

/**
 * graphql-js cannot print an object default of a custom scalar (`params: JSON = {}`): its
 * astFromValue throws "Cannot convert value to AST", and GraphiQL's editor then loads no
 * schema. Such a default is moved into the description instead; the server still applies it.
 */
export function printableIntrospection(result: ExecutionResult): ExecutionResult {
  const schema = (result as { data?: { __schema?: { types?: IntrospectedType[] } } })?.data
    ?.__schema;
  for (const type of schema?.types ?? []) {
    const values = [...(type.inputFields ?? []), ...(type.fields ?? []).flatMap((f) => f.args ?? [])];
    for (const value of values) {
      const literal = value.defaultValue?.trim();
      if (!literal || !/^[[{]/.test(literal)) continue;
      let ref: TypeRef | null | undefined = value.type;
      while (ref?.kind === "NON_NULL") ref = ref.ofType;
      if (ref?.kind !== "SCALAR") continue;
      value.description = `${value.description ?? ""}${value.description ? " " : ""}Default: ${literal}.`;
      value.defaultValue = null;
    }
  }
  return result;
}
