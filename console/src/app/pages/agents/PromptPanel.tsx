/**
 * A chat with the agent: each prompt is a `streamPrompt` subscription, and its answer grows
 * chunk by chunk as they arrive. A prompt runs once (`oneShot`: a dropped connection ends it
 * rather than asking the agent again).
 */
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useClient, type CombinedError } from "urql";

import { graphql } from "../../../gql";
import { ErrorMessage } from "../../errors";
import { Link } from "../../router";
import { TextAreaField } from "../../ui";

const StreamPromptSubscription = graphql(`
  subscription ConsoleStreamPrompt($agentId: ID!, $input: StreamPromptInput!) {
    streamPrompt(agentId: $agentId, input: $input) {
      streamId
      index
      delta
      done
    }
  }
`);

type Exchange = {
  id: number;
  prompt: string;
  chunks: string[];
  state: "streaming" | "done" | "stopped" | "failed";
  error: CombinedError | null;
};

export function PromptPanel({ agentId }: { agentId: string }) {
  const client = useClient();
  const headingId = useId();
  const [prompt, setPrompt] = useState("");
  const [promptError, setPromptError] = useState<string | null>(null);
  const [exchanges, setExchanges] = useState<Exchange[]>([]);
  const stopRef = useRef<(() => void) | null>(null);
  const nextId = useRef(1);
  const streaming = exchanges.some((x) => x.state === "streaming");

  useEffect(() => () => stopRef.current?.(), []);

  const update = (id: number, change: (x: Exchange) => Exchange) =>
    setExchanges((list) => list.map((x) => (x.id === id ? change(x) : x)));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = prompt.trim();
    setPromptError(text ? null : "Write a prompt first.");
    if (!text || streaming) return;
    const id = nextId.current++;
    setExchanges((list) => [...list, { id, prompt: text, chunks: [], state: "streaming", error: null }]);
    setPrompt("");
    const subscription = client
      .subscription(StreamPromptSubscription, { agentId, input: { prompt: text } }, { oneShot: true })
      .subscribe((result) => {
        if (result.error) {
          update(id, (x) => ({ ...x, state: "failed", error: result.error ?? null }));
          stopRef.current = null;
          return;
        }
        const chunk = result.data?.streamPrompt;
        if (!chunk) return;
        update(id, (x) => {
          const chunks = [...x.chunks];
          chunks[chunk.index] = chunk.delta;
          return { ...x, chunks, state: chunk.done ? "done" : x.state };
        });
        if (chunk.done) stopRef.current = null;
      });
    stopRef.current = () => {
      subscription.unsubscribe();
      update(id, (x) => (x.state === "streaming" ? { ...x, state: "stopped" } : x));
    };
  };

  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>Chat</h2>
      <p className="muted">
        A prompt here is answered and forgotten. For a conversation that is kept, and answered knowing what was said
        before, use <Link to={`/threads?agent=${encodeURIComponent(agentId)}`}>a thread</Link>.
      </p>
      {exchanges.length ? (
        <ol className="chat" aria-label="Conversation">
          {exchanges.map((x) => (
            <li key={x.id} className="exchange">
              <p className="from-user">
                <span className="who-said">You:</span> {x.prompt}
              </p>
              <div className="from-agent" aria-busy={x.state === "streaming"}>
                <span className="who-said">Agent:</span>{" "}
                <span className="answer" data-state={x.state}>
                  {x.chunks.join("")}
                </span>
                <span className="muted answer-state">
                  {" "}
                  {x.state === "streaming"
                    ? `(streaming… ${x.chunks.filter((c) => c !== undefined).length} chunks so far)`
                    : x.state === "done"
                      ? `(complete, ${x.chunks.length} chunks)`
                      : x.state === "stopped"
                        ? "(stopped)"
                        : "(failed)"}
                </span>
                <ErrorMessage error={x.error} />
              </div>
            </li>
          ))}
        </ol>
      ) : null}
      <form noValidate onSubmit={submit}>
        <TextAreaField
          label="Prompt"
          name="prompt"
          rows={3}
          value={prompt}
          error={promptError}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e);
          }}
          hint="Ctrl+Enter sends."
        />
        <div className="actions">
          <button type="submit" className="primary" disabled={streaming}>
            Send prompt
          </button>
          {streaming ? (
            <button type="button" onClick={() => stopRef.current?.()}>
              Stop answer
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}
