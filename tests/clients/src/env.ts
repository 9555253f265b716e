/** Where the kAI server under test is, and how each flow gets a fresh account there. */
import { randomUUID } from "node:crypto";

function baseUrl(): string {
  const url = process.env.KAI_URL;
  if (!url) {
    throw new Error("Set KAI_URL to a running kAI server's base URL, e.g. http://127.0.0.1:8000");
  }
  return url.replace(/\/+$/, "");
}

export const KAI_URL = baseUrl();
/** GraphQL over HTTP (queries, mutations, uploads, SSE subscriptions). */
export const GRAPHQL_URL = `${KAI_URL}/graphql`;
/** GraphQL over WebSocket (graphql-transport-ws). */
export const WS_URL = GRAPHQL_URL.replace(/^http/, "ws");

export const PASSWORD = "correct horse battery staple";

/** An email no other flow or run uses: each flow registers its own user. */
export function uniqueEmail(flow: string): string {
  return `${flow}-${randomUUID().slice(0, 12)}@example.com`;
}

/** Milliseconds each test may take before node:test fails it. */
export const TEST_TIMEOUT_MS = 20_000;
