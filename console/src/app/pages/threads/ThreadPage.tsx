/**
 * A thread's chat page (/threads/<id>): who it is with, its messages (newest at the bottom,
 * earlier ones a page at a time), a message box whose answers stream in token by token and
 * can be stopped (what was said is kept, marked interrupted), and the thread deleted after a
 * question. useConversation.ts holds the conversation; Conversation.tsx and Composer.tsx show
 * it.
 */
import { useId, useState, type ReactNode } from "react";
import { useMutation, type CombinedError } from "urql";

import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { ConfirmButton, Loading, Page, formatTime } from "../../ui";
import { Fact, Facts } from "../Facts";
import "../pages.css";
import { Composer } from "./Composer";
import { Conversation } from "./Conversation";
import { DeleteThreadMutation, threadName, type Thread } from "./documents";
import "./threads.css";
import { useConversation } from "./useConversation";

function About({ thread, lastWritten, children }: { thread: Thread; lastWritten: string; children: ReactNode }) {
  const headingId = useId();
  return (
    <section aria-labelledby={headingId} className="card">
      <h2 id={headingId}>About this thread</h2>
      <Facts>
        <Fact term="Agent">
          <Link to={`/agents/${encodeURIComponent(thread.agent.id)}`}>{thread.agent.name}</Link> ({thread.agent.type},{" "}
          {thread.agent.state.toLowerCase()})
        </Fact>
        <Fact term="Started">{formatTime(thread.createdAt)}</Fact>
        <Fact term="Last written">{formatTime(lastWritten)}</Fact>
        <Fact term="Id">
          <code>{thread.id}</code>
        </Fact>
      </Facts>
      <p className="muted">
        Continue it in a terminal with{" "}
        <code>
          kai chat {/^[\w.-]+$/.test(thread.agent.name) ? thread.agent.name : thread.agent.id} --thread {thread.id}
        </code>
        .
      </p>
      {children}
    </section>
  );
}

function Chat({ id }: { id: string }) {
  const session = useSession();
  const talk = useConversation(id);
  const [, remove] = useMutation(DeleteThreadMutation);
  const [removeError, setRemoveError] = useState<CombinedError | null>(null);
  const thread = talk.thread;

  if (talk.fetching && !thread) {
    return (
      <Page title="Thread">
        <Loading what="the thread" />
      </Page>
    );
  }
  if (!thread) {
    return (
      <Page title="Thread not found">
        <ErrorMessage error={talk.error} />
        <p>
          There is no thread <code>{id}</code> that you may see. Back to <Link to="/threads">your threads</Link>.
        </p>
      </Page>
    );
  }
  const agentName = thread.agent.name;
  // The answer being written, else the first message waiting for its turn.
  const current = talk.exchanges.find((x) => x.state === "answering") ?? talk.exchanges.find((x) => x.state === "sending");
  const answering = talk.exchanges.some((x) => x.state === "sending" || x.state === "answering");
  const canTalk = session.can("thread.use");
  return (
    <Page title={thread.title ? `Thread ${thread.title}` : "Untitled thread"}>
      <p>
        <Link to={`/threads?agent=${encodeURIComponent(thread.agent.id)}`}>← Threads with {agentName}</Link>
        {" · "}
        <Link to="/threads">All threads</Link>
      </p>
      <About thread={thread} lastWritten={talk.messages[talk.messages.length - 1]?.createdAt ?? thread.updatedAt}>
        {canTalk ? (
          <div className="actions">
            <ConfirmButton
              danger
              aria-label={`Delete thread ${threadName(thread)}`}
              question="Delete this thread? Its messages are deleted with it."
              onConfirm={async () => {
                const result = await remove({ id: thread.id });
                setRemoveError(result.error ?? null);
                if (!result.error) navigate(`/threads?agent=${encodeURIComponent(thread.agent.id)}`);
              }}
            >
              Delete thread
            </ConfirmButton>
          </div>
        ) : null}
        <ErrorMessage error={removeError} />
      </About>
      <ErrorMessage error={talk.liveError} />
      <Conversation
        agentName={agentName}
        messages={talk.messages}
        exchanges={talk.exchanges}
        earlier={talk.earlier}
        loadingEarlier={talk.loadingEarlier}
        earlierError={talk.earlierError}
        onEarlier={() => void talk.loadEarlier()}
        onStop={talk.stop}
      />
      {canTalk ? (
        <Composer
          agentName={agentName}
          agentState={thread.agent.state}
          busy={answering || talk.busyElsewhere}
          busyElsewhere={talk.busyElsewhere && !answering}
          onStop={current ? () => talk.stop(current.key) : null}
          onSend={talk.send}
        />
      ) : null}
    </Page>
  );
}

export function ThreadPage() {
  const { params } = useRoute();
  const id = params.id ?? "";
  // Another thread is another conversation: nothing of this one's state carries over.
  return <Chat key={id} id={id} />;
}
