/**
 * A thread's messages, oldest first and the newest at the bottom: the stored ones (each with
 * who said it, when, whether it was cut short, and the tokens it took when the agent's
 * endpoint said), then the messages this page sent that are still on their way, each answer
 * growing as its chunks come. "Load earlier" reads the page before the oldest shown. A line
 * that assistive technology announces says what the newest message sent is doing (not each
 * chunk). The page keeps the newest in view while the reader is at the bottom.
 */
import { useEffect, useId, useLayoutEffect, useRef } from "react";
import type { CombinedError } from "urql";

import { ErrorMessage } from "../../errors";
import { formatTime } from "../../ui";
import { ROLE_WORDS, type Message } from "./documents";
import type { Exchange } from "./history";

type Props = {
  agentName: string;
  messages: readonly Message[];
  exchanges: readonly Exchange[];
  earlier: boolean;
  loadingEarlier: boolean;
  earlierError: CombinedError | null;
  onEarlier: () => void;
  onStop: (key: number) => void;
};

function usageWords(message: Message): string | null {
  const usage = message.usage;
  if (!usage || (usage.promptTokens == null && usage.completionTokens == null)) return null;
  const part = (n: number | null | undefined, what: string) => (n == null ? null : `${n} ${what}`);
  return [part(usage.promptTokens, "tokens read"), part(usage.completionTokens, "tokens written")].filter(Boolean).join(", ");
}

function StoredMessage({ message, agentName }: { message: Message; agentName: string }) {
  const usage = usageWords(message);
  return (
    <li className={`message from-${message.role.toLowerCase()}`} data-seq={message.seq}>
      <p className="message-head">
        <span className="who-said">{message.role === "ASSISTANT" ? agentName : ROLE_WORDS[message.role]}</span>{" "}
        <time dateTime={message.createdAt} className="muted">
          {formatTime(message.createdAt)}
        </time>
        {message.interrupted ? <span className="badge interrupted">Interrupted</span> : null}
      </p>
      <p className="message-text">{message.content || <span className="muted">(nothing was said)</span>}</p>
      {usage ? <p className="muted usage">{usage}</p> : null}
    </li>
  );
}

function answerWords(exchange: Exchange): string {
  switch (exchange.state) {
    case "sending":
      return exchange.onBusy === "QUEUE" ? "waiting for its turn…" : "…";
    case "answering":
      return "answering…";
    case "done":
      return "complete";
    case "stopped":
      return "stopped: keeping what was said…";
    default:
      return "";
  }
}

function InFlight({ exchange, agentName, onStop }: { exchange: Exchange; agentName: string; onStop: () => void }) {
  const answering = exchange.state === "sending" || exchange.state === "answering";
  return (
    <>
      <li className="message from-user in-flight" data-state={exchange.state}>
        <p className="message-head">
          <span className="who-said">{ROLE_WORDS.USER}</span>{" "}
          <span className="muted">{exchange.state === "sending" ? "sending" : "sent"}</span>
          {exchange.state === "sending" ? (
            <button type="button" className="withdraw" onClick={onStop}>
              Withdraw<span className="visually-hidden"> this message</span>
            </button>
          ) : null}
        </p>
        <p className="message-text">{exchange.content}</p>
      </li>
      {exchange.state !== "sending" || exchange.chunks.length ? (
        <li className="message from-assistant in-flight" data-state={exchange.state} aria-busy={answering}>
          <p className="message-head">
            <span className="who-said">{agentName}</span> <span className="muted">{answerWords(exchange)}</span>
          </p>
          <p className="message-text answer">{exchange.chunks.join("")}</p>
        </li>
      ) : null}
    </>
  );
}

function statusWords(exchanges: readonly Exchange[], agentName: string): string {
  const latest = exchanges[exchanges.length - 1];
  if (!latest) return "";
  if (latest.state === "sending") return latest.onBusy === "QUEUE" ? `Sent: it waits until ${agentName} has answered.` : "Sending…";
  if (latest.state === "answering") return `${agentName} is answering…`;
  if (latest.state === "done") return "Answer complete.";
  if (latest.state === "stopped") return "Stopped: what was said is kept, marked interrupted.";
  return "";
}

export function Conversation({ agentName, messages, exchanges, earlier, loadingEarlier, earlierError, onEarlier, onStop }: Props) {
  const headingId = useId();
  const atBottom = useRef(true);
  const first = useRef(true);
  const written = exchanges.reduce((n, x) => n + x.chunks.length, 0);
  const earlierButton = useRef<HTMLButtonElement>(null);
  const start = useRef<HTMLParagraphElement>(null);
  const hadFocus = useRef(false);

  // The last earlier page came: the focus the button had goes to the words that replace it.
  useEffect(() => {
    if (loadingEarlier) return;
    if (!earlier && hadFocus.current) start.current?.focus();
    hadFocus.current = false;
  }, [earlier, loadingEarlier]);

  useEffect(() => {
    const seen = () => {
      atBottom.current = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 120;
    };
    window.addEventListener("scroll", seen, { passive: true });
    return () => window.removeEventListener("scroll", seen);
  }, []);

  // The newest stays in view while the reader is at the bottom (and when the page opens).
  useLayoutEffect(() => {
    if (messages.length === 0 && exchanges.length === 0) return;
    if (!first.current && !atBottom.current) return;
    first.current = false;
    window.scrollTo({ top: document.documentElement.scrollHeight });
  }, [messages.length, exchanges.length, written]);

  return (
    <section aria-labelledby={headingId} className="card conversation">
      <h2 id={headingId}>Conversation</h2>
      {earlier ? (
        <div className="actions">
          <button
            type="button"
            ref={earlierButton}
            aria-disabled={loadingEarlier || undefined}
            onClick={() => {
              if (loadingEarlier) return;
              hadFocus.current = document.activeElement === earlierButton.current;
              onEarlier();
            }}
          >
            {loadingEarlier ? "Loading earlier messages…" : "Load earlier messages"}
          </button>
        </div>
      ) : messages.length ? (
        <p className="muted" ref={start} tabIndex={-1}>
          The start of the conversation.
        </p>
      ) : null}
      <ErrorMessage error={earlierError} />
      {messages.length || exchanges.length ? (
        <ol className="messages" aria-label="Messages, oldest first">
          {messages.map((message) => (
            <StoredMessage key={message.id} message={message} agentName={agentName} />
          ))}
          {exchanges.map((exchange) => (
            <InFlight key={`sent-${exchange.key}`} exchange={exchange} agentName={agentName} onStop={() => onStop(exchange.key)} />
          ))}
        </ol>
      ) : (
        <p className="muted">No messages yet: write the first below.</p>
      )}
      <p role="status" className="status">
        {statusWords(exchanges, agentName)}
      </p>
    </section>
  );
}
