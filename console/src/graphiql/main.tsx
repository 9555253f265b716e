/**
 * kAI's self-hosted GraphiQL: every script, style and editor worker comes from this build,
 * served by kAI itself, so the page works with no internet (Strawberry's own page loads
 * React and GraphiQL from a CDN).
 */
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import "@graphiql/plugin-explorer/style.css";
import "./page.css";

import { explorerPlugin } from "@graphiql/plugin-explorer";
import { GraphiQL } from "graphiql";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { kaiFetcher } from "./fetcher";

const DEFAULT_QUERY = `# Welcome to kAI's GraphiQL.
#
# Sign in with the mutation below, then put the access token in the
# Headers tab as {"Authorization": "Bearer <token>"} (an API key works too).
# Subscriptions (agentEvents, streamPrompt, taskUpdates) run over graphql-ws.
#
#   Run: Ctrl-Enter    Complete: Ctrl-Space    Docs: the book icon on the left

mutation SignIn {
  login(input: { email: "you@example.com", password: "your password" }) {
    accessToken
    refreshToken
  }
}
`;

// The header editor starts with the header kAI reads; an empty value is not sent.
const DEFAULT_HEADERS = JSON.stringify({ Authorization: "" }, null, 2);

const root = document.getElementById("graphiql");
if (root) {
  const fetcher = kaiFetcher(new URL("/graphql", window.location.href).toString());
  const plugins = [explorerPlugin()];
  createRoot(root).render(
    <StrictMode>
      <GraphiQL
        fetcher={fetcher}
        plugins={plugins}
        defaultQuery={DEFAULT_QUERY}
        defaultHeaders={DEFAULT_HEADERS}
        isHeadersEditorEnabled
        shouldPersistHeaders={false}
        defaultEditorToolsVisibility="headers"
      />
    </StrictMode>,
  );
}
