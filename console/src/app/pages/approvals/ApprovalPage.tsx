/**
 * One approval (/approvals/<id>: a task waiting for it links here): what it would run, who
 * asked, and, while it waits, Approve and Reject; once decided, how and why. A decision that
 * comes too late (CONFLICT) is said in words, and the approval shown as it is now. Below, what
 * came of the work it held (Outcome).
 */
import { useEffect, useRef, useState } from "react";
import { useQuery } from "urql";

import { ErrorMessage } from "../../errors";
import { Link, useRoute } from "../../router";
import { useSession } from "../../session";
import { Loading, Page } from "../../ui";
import "../pages.css";
import { ApprovalCard } from "./ApprovalCard";
import "./approvals.css";
import { ApprovalQuery, type Approval } from "./documents";
import { approvalsChanged } from "./live";
import { Outcome } from "./Outcome";
import { approvalTitle, outcomeWords, tooLateWords } from "./words";

export function ApprovalPage() {
  const { params } = useRoute();
  const session = useSession();
  const id = params.id ?? "";
  const [result] = useQuery({ query: ApprovalQuery, variables: { id }, requestPolicy: "cache-and-network" });
  const [current, setCurrent] = useState<Approval | null>(null);
  const [said, setSaid] = useState<{ conflict: boolean; text: string } | null>(null);
  const saidRef = useRef<HTMLDivElement>(null);
  const fetched = result.data?.approval ?? null;
  const approval = current && current.id === id ? current : fetched;

  useEffect(() => {
    if (said) saidRef.current?.focus();
  }, [said]);

  if (result.fetching && !result.data) {
    return (
      <Page title="Approval">
        <Loading what="the approval" />
      </Page>
    );
  }
  if (!approval) {
    return (
      <Page title="Approval not found">
        <ErrorMessage error={result.error} />
        <p>
          There is no approval <code>{id}</code> that you may see. Back to <Link to="/approvals">the approvals</Link>.
        </p>
      </Page>
    );
  }
  const selfId = session.user?.id;
  return (
    <Page title={`Approval: ${approvalTitle(approval)}`}>
      <p>
        <Link to="/approvals">← All approvals</Link>
      </p>
      {said ? (
        <div ref={saidRef} tabIndex={-1} className={said.conflict ? "said error" : "said success"} role={said.conflict ? "alert" : "status"}>
          <p>{said.text}</p>
        </div>
      ) : null}
      <ApprovalCard
        approval={approval}
        level={2}
        onDecided={(decided) => {
          setCurrent(decided);
          setSaid({ conflict: false, text: `${outcomeWords(decided, selfId)}.` });
          approvalsChanged();
        }}
        onConflict={(now) => {
          if (now) setCurrent(now);
          setSaid({ conflict: true, text: `Not decided: ${tooLateWords(now, selfId)}` });
          approvalsChanged();
        }}
      />
      <Outcome approval={approval} />
    </Page>
  );
}
