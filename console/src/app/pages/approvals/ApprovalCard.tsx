/**
 * One approval as a card, the one markup for the inbox and the approval's own page: whose
 * agent, what it would run (Subject), who asked and when, when it expires; while it waits,
 * Approve and Reject with an optional reason; once decided, how, by whom, when and why.
 *
 * A decision the server refuses with CONFLICT (someone decided first, or its time ran out)
 * reads the approval again and hands it to `onConflict`; the page says so and refreshes.
 */
import { useEffect, useId, useState } from "react";
import { useClient, type CombinedError } from "urql";

import { ErrorMessage, errorCode } from "../../errors";
import { Link } from "../../router";
import { useSession } from "../../session";
import { TextAreaField, formatTime } from "../../ui";
import { Fact, Facts } from "../Facts";
import { ApprovalQuery, DecideApprovalMutation, type Approval } from "./documents";
import { approvalsChanged } from "./live";
import { Subject } from "./Subject";
import { KIND_WORDS, StateBadge, approvalTitle, expiryWords, outcomeWords, personWords } from "./words";

export const MAX_REASON = 1000;

type Props = {
  approval: Approval;
  /** h3 in a list, h2 on the approval's own page. */
  level?: 2 | 3;
  /** Link the heading to the approval's page (in a list). */
  linked?: boolean;
  onDecided?: (approval: Approval) => void;
  /** The approval as it is now, after the server refused the decision with CONFLICT. */
  onConflict?: (approval: Approval | null) => void;
};

export function approvalPath(approval: { id: string }): string {
  return `/approvals/${encodeURIComponent(approval.id)}`;
}

/** Date.now(), again every `ms` (a countdown's "in 9 minutes"). */
function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
}

export function ApprovalCard({ approval, level = 3, linked = false, onDecided, onConflict }: Props) {
  const session = useSession();
  const selfId = session.user?.id;
  const headingId = useId();
  const now = useNow(15_000);
  const Heading = level === 2 ? "h2" : "h3";
  const title = approvalTitle(approval);
  const pending = approval.state === "PENDING";
  const timeUp = pending && approval.expiresAt !== null && approval.expiresAt !== undefined && Date.parse(approval.expiresAt) <= now;
  const Wrapper = level === 2 ? "section" : "li";

  // Its time ran out while shown: once the server's sweep has expired it, the count is read
  // again (it comes to no feed).
  useEffect(() => {
    if (!timeUp) return;
    const timer = window.setTimeout(approvalsChanged, 2000);
    return () => window.clearTimeout(timer);
  }, [timeUp]);
  return (
    <Wrapper className="card approval" aria-labelledby={headingId} data-state={approval.state}>
      <Heading id={headingId}>{linked ? <Link to={approvalPath(approval)}>{title}</Link> : title}</Heading>
      <p>
        <StateBadge state={approval.state} />
        {" · "}
        {KIND_WORDS[approval.kind]}
        {" · "}agent <Link to={`/agents/${encodeURIComponent(approval.agent.id)}`}>{approval.agent.name}</Link>
      </p>
      <Subject approval={approval} />
      <Facts>
        <Fact term="Asked by">{personWords(approval.requestedBy, selfId)}</Fact>
        <Fact term="Asked">{formatTime(approval.createdAt)}</Fact>
        {pending ? (
          <Fact term="Expires">{timeUp ? "now: its time is up" : expiryWords(approval.expiresAt, now)}</Fact>
        ) : (
          <>
            <Fact term="Decision">{outcomeWords(approval, selfId)}</Fact>
            <Fact term={approval.state === "EXPIRED" ? "Expired" : "Decided"}>{formatTime(approval.decidedAt)}</Fact>
            <Fact term="Reason">{approval.reason ?? <span className="muted">none given</span>}</Fact>
          </>
        )}
        <Fact term="Id">
          <code>{approval.id}</code>
        </Fact>
      </Facts>
      {pending && !timeUp && session.can("approval.decide") ? (
        <DecideForm approval={approval} title={title} onDecided={onDecided} onConflict={onConflict} />
      ) : null}
      {timeUp ? <p className="muted">Nobody decided in time: the work it holds is refused.</p> : null}
    </Wrapper>
  );
}

function DecideForm({ approval, title, onDecided, onConflict }: { approval: Approval; title: string } & Pick<Props, "onDecided" | "onConflict">) {
  const client = useClient();
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState<"approve" | "reject" | null>(null);
  const [error, setError] = useState<CombinedError | null>(null);

  const decide = async (approve: boolean) => {
    setBusy(approve ? "approve" : "reject");
    setError(null);
    const answer = await client
      .mutation(DecideApprovalMutation, { id: approval.id, approve, reason: reason.trim() || null })
      .toPromise();
    if (answer.data?.decideApproval) {
      setBusy(null);
      onDecided?.(answer.data.decideApproval);
      return;
    }
    if (errorCode(answer.error) === "CONFLICT" && onConflict) {
      const now = await client.query(ApprovalQuery, { id: approval.id }, { requestPolicy: "network-only" }).toPromise();
      setBusy(null);
      onConflict(now.data?.approval ?? null);
      return;
    }
    setBusy(null);
    setError(answer.error ?? null);
  };

  return (
    <form className="decide" onSubmit={(event) => event.preventDefault()}>
      <TextAreaField
        label="Reason (optional)"
        hint="Kept with the decision; refused work ends with it as its error."
        rows={2}
        maxLength={MAX_REASON}
        value={reason}
        onChange={(event) => setReason(event.target.value)}
      />
      <ErrorMessage error={error} />
      <div className="actions">
        <button type="button" className="primary" disabled={busy !== null} onClick={() => void decide(true)}>
          {busy === "approve" ? "Approving…" : "Approve"}
          <span className="visually-hidden"> {title}</span>
        </button>
        <button type="button" className="danger" disabled={busy !== null} onClick={() => void decide(false)}>
          {busy === "reject" ? "Rejecting…" : "Reject"}
          <span className="visually-hidden"> {title}</span>
        </button>
      </div>
    </form>
  );
}
