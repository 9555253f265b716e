/**
 * graphql-http's audit of the GraphQL-over-HTTP spec (serverAudits) against the kAI server
 * at KAI_URL. Prints a JSON array with one entry per audit: its id, its name (which begins
 * with MUST, SHOULD or MAY), its status (ok; or error, warn, notice for a failed MUST,
 * SHOULD, MAY) and, when not ok, the reason with the status, Content-Type and error codes
 * (`extensions.code`) answered.
 * tests/test_clients_node.py runs it (node dist/audit.js) and judges the results.
 */
import { serverAudits } from "graphql-http";

import { GRAPHQL_URL } from "./env.js";

interface Outcome {
  id: string;
  name: string;
  status: "ok" | "notice" | "warn" | "error";
  reason: string | null;
  answered: { status: number; contentType: string | null; codes: string[] | null } | null;
}

/** The `extensions.code` of each error in a GraphQL response's body; null if it is not one. */
async function errorCodes(response: Response): Promise<string[] | null> {
  try {
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    return (body.errors ?? []).map((error) => error.extensions?.code ?? "(none)");
  } catch {
    return null;
  }
}

const outcomes: Outcome[] = [];
// One at a time, in the suite's order: each audit's requests are the only ones in flight.
for (const audit of serverAudits({ url: GRAPHQL_URL, fetchFn: fetch })) {
  const result = await audit.fn();
  if (result.status === "ok") {
    outcomes.push({ id: result.id, name: result.name, status: "ok", reason: null, answered: null });
  } else {
    const { response } = result;
    const codes = await errorCodes(response);
    const answered = { status: response.status, contentType: response.headers.get("content-type"), codes };
    outcomes.push({ id: result.id, name: result.name, status: result.status, reason: result.reason, answered });
  }
}
process.stdout.write(`${JSON.stringify(outcomes, null, 2)}\n`);
