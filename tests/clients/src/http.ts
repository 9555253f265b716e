/**
 * Plain GraphQL over HTTP (fetch) for the set-up steps of the subscription flows, typed by
 * the documents graphql-codegen generated. Each names its document by `documentId` (the
 * GraphQL-over-HTTP persisted documents appendix), never by its text.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";

import { CREATE_AGENT, REGISTER } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, uniqueEmail } from "./env.js";
import { documentIdOf } from "./persisted.js";

export interface Answer<TResult> {
  status: number;
  body: { data?: TResult | null; errors?: { message: string; extensions?: { code?: string } }[] };
  text: string;
}

/** A JSON POST of `request` to /graphql: the answer's status and JSON body. */
export async function post<TResult = unknown>(
  request: Record<string, unknown>,
  token?: string,
): Promise<Answer<TResult>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(GRAPHQL_URL, {
    method: "POST",
    headers,
    body: JSON.stringify(request),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Answer<TResult>["body"], text };
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 500)}`);
  }
}

export async function execute<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  const { status, body, text } = await post<TResult>(
    { documentId: documentIdOf(document), variables },
    token,
  );
  if (status < 200 || status > 299 || (body.errors?.length ?? 0) > 0 || body.data == null) {
    throw new Error(`HTTP ${status}: ${text.slice(0, 2000)}`);
  }
  return body.data;
}

/** A new user (unique email); returns its access token. */
export async function signUp(flow: string): Promise<string> {
  const email = uniqueEmail(flow);
  const { register } = await execute(REGISTER, { input: { email, password: PASSWORD } });
  if (register.user.email !== email) {
    throw new Error(`registered ${register.user.email}, not ${email}`);
  }
  return register.accessToken;
}

/** A new echo agent of the token's user; `delaySeconds` paces its answers and streamed words. */
export async function createEcho(
  token: string,
  name: string,
  delaySeconds?: number,
): Promise<string> {
  const configuration = delaySeconds === undefined ? {} : { delaySeconds };
  const { createAgent } = await execute(
    CREATE_AGENT,
    { input: { name, type: "echo", configuration } },
    token,
  );
  if (createAgent.type !== "echo") {
    throw new Error(`created a ${createAgent.type} agent`);
  }
  return createAgent.id;
}
