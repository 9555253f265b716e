/**
 * Plain GraphQL over HTTP (fetch) for the set-up steps of the subscription flows,
 * typed by the documents graphql-codegen generated.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import { CREATE_AGENT, REGISTER } from "./documents.js";
import { GRAPHQL_URL, PASSWORD, uniqueEmail } from "./env.js";

export async function execute<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  token?: string,
): Promise<TResult> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) {
    headers.authorization = `Bearer ${token}`;
  }
  const response = await fetch(GRAPHQL_URL, {
    method: "POST",
    headers,
    body: JSON.stringify({ query: print(document), variables }),
  });
  const text = await response.text();
  let body: { data?: TResult | null; errors?: unknown[] };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`HTTP ${response.status}, not JSON: ${text.slice(0, 500)}`);
  }
  if (!response.ok || (body.errors?.length ?? 0) > 0 || body.data == null) {
    throw new Error(`HTTP ${response.status}: ${text.slice(0, 2000)}`);
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
