/**
 * The message box of a thread's chat page. Enter sends (Shift+Enter starts a new line). While
 * the thread answers (a message of this page's, or one sent elsewhere) a message can wait for
 * the answer (onBusy QUEUE, what Enter does then) or cut it short (INTERRUPT); otherwise it is
 * sent as is (REJECT: when the thread turns out to be busy the server says CONFLICT, and both
 * choices are offered). The answer being written can be stopped. A refusal is said beside the
 * box: at the box itself when it is about the text (BAD_USER_INPUT naming input.content), and
 * the text comes back into the box when no answer to it came.
 */
import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import type { CombinedError } from "urql";

import type { AgentState, BusyPolicy } from "../../../gql/graphql";
import { ErrorMessage } from "../../errors";
import { TextAreaField } from "../../ui";

type Props = {
  agentName: string;
  agentState: AgentState;
  /** The thread is answering: this page's message, or one sent elsewhere. */
  busy: boolean;
  /** It answers a message sent elsewhere (another tab, `kai chat`, the API). */
  busyElsewhere: boolean;
  /** Stops the answer being written (or the message waiting to be); null when there is none. */
  onStop: (() => void) | null;
  onSend: (content: string, onBusy: BusyPolicy, onFailed: (error: CombinedError, answered: boolean) => void) => void;
};

const KEYS_HINT = "Enter sends; Shift+Enter starts a new line.";

export function Composer({ agentName, agentState, busy, busyElsewhere, onStop, onSend }: Props) {
  const headingId = useId();
  const [text, setText] = useState("");
  const [textError, setTextError] = useState<string | null>(null);
  const [refused, setRefused] = useState<CombinedError | null>(null);
  const form = useRef<HTMLFormElement>(null);

  const send = (onBusy: BusyPolicy) => {
    const content = text.trim();
    setRefused(null);
    if (!content) {
      setTextError("Write a message first.");
      return;
    }
    setTextError(null);
    setText("");
    onSend(content, onBusy, (error, answered) => {
      const first = error.graphQLErrors[0];
      if (error.graphQLErrors.length === 1 && first?.extensions?.code === "BAD_USER_INPUT" && first.extensions.field === "input.content") {
        setTextError(first.message);
      } else {
        setRefused(error);
      }
      // Nothing was answered: the text comes back to be sent again (unless more was typed).
      if (!answered) setText((held) => (held.trim() === "" ? content : held));
    });
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const chosen = (event.nativeEvent as SubmitEvent).submitter?.getAttribute("value");
    // The button pressed says how; Enter (no button) waits while the thread is busy.
    send(chosen === "INTERRUPT" || chosen === "QUEUE" || chosen === "REJECT" ? chosen : busy ? "QUEUE" : "REJECT");
  };

  const keyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key !== "Enter" || event.shiftKey || event.nativeEvent.isComposing) return;
    event.preventDefault();
    form.current?.requestSubmit();
  };

  return (
    <section aria-labelledby={headingId} className="card composer">
      <h2 id={headingId} className="visually-hidden">
        Your message
      </h2>
      {agentState !== "RUNNING" ? (
        <p className="notice">
          {agentName} is {agentState.toLowerCase()}: it answers only while it is running.
        </p>
      ) : busyElsewhere ? (
        <p className="notice">
          {agentName} is answering a message sent elsewhere: yours can wait for that answer, or cut it short.
        </p>
      ) : null}
      <form ref={form} noValidate onSubmit={submit}>
        <TextAreaField
          label="Message"
          name="message"
          rows={3}
          value={text}
          error={textError}
          hint={busy ? `${KEYS_HINT} While ${agentName} answers, Enter sends after the answer.` : KEYS_HINT}
          onChange={(e) => {
            setText(e.target.value);
            setTextError(null);
          }}
          onKeyDown={keyDown}
        />
        <ErrorMessage error={refused} />
        <div className="actions">
          {busy ? (
            <>
              <button type="submit" className="primary" value="QUEUE">
                Send after the answer
              </button>
              <button type="submit" value="INTERRUPT">
                Interrupt and send
              </button>
            </>
          ) : (
            <button type="submit" className="primary" value="REJECT">
              Send
            </button>
          )}
          {onStop ? (
            <button type="button" className="danger" onClick={onStop}>
              Stop answer
            </button>
          ) : null}
        </div>
      </form>
    </section>
  );
}
