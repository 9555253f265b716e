/**
 * The approvals inbox: the work that agents' approval policies hold for a person.
 *
 * "Waiting" lists the PENDING approvals of the agents you see (every agent's for ADMIN),
 * newest first: those asked before the page opened (approvals, read once the live feed is
 * subscribed, so that nothing falls between the two), then each new one as it is asked
 * (approvalRequests, live.tsx), on top. Approve or Reject, with an optional reason: the card
 * leaves the list, and a line says what was decided. A decision that comes too late (someone
 * else decided first, or its time ran out: CONFLICT) is said in words with what happened
 * instead, and the list is read again.
 *
 * "Decided" lists the others: approved, rejected or expired, by whom, when and why. Both can
 * be narrowed to a kind and an agent (?kind=, ?agent=: the agent page links here).
 */
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { useQuery } from "urql";

import { useReconnected } from "../../client";
import { useConnection } from "../../connection";
import { ErrorMessage } from "../../errors";
import { Link, navigate, useRoute } from "../../router";
import { useSession } from "../../session";
import { LoadMore, Loading, Page, SelectField, countOf } from "../../ui";
import "../pages.css";
import { ApprovalCard } from "./ApprovalCard";
import "./approvals.css";
import { ApprovalAgentsQuery, ApprovalsQuery, type Approval, type ApprovalKind } from "./documents";
import { approvalsChanged, useApprovalArrivals, useFeed, useFeedListening } from "./live";
import { DECIDED_STATES, KINDS, KIND_WORDS, approvalTitle, tooLateWords } from "./words";

const PAGE_SIZE = 20;

type Filters = { show: "pending" | "decided"; kind: ApprovalKind | ""; agentId: string };

function filtersOf(query: URLSearchParams): Filters {
  const kind = query.get("kind") ?? "";
  return {
    show: query.get("show") === "decided" ? "decided" : "pending",
    kind: (KINDS as string[]).includes(kind) ? (kind as ApprovalKind) : "",
    agentId: query.get("agent") ?? "",
  };
}

function pathOf(filters: Filters): string {
  const query = new URLSearchParams();
  if (filters.show === "decided") query.set("show", "decided");
  if (filters.kind) query.set("kind", filters.kind);
  if (filters.agentId) query.set("agent", filters.agentId);
  const text = query.toString();
  return text ? `/approvals?${text}` : "/approvals";
}

export function ApprovalsPage() {
  const route = useRoute();
  const filters = filtersOf(route.query);
  const [agents] = useQuery({ query: ApprovalAgentsQuery });
  const listening = useFeedListening();
  const [round, setRound] = useState(0);
  const choose = (changes: Partial<Filters>) => navigate(pathOf({ ...filters, ...changes }), { replace: true });
  const agentList = (agents.data?.agents.edges ?? []).map((edge) => edge.node);
  const agent = agentList.find((a) => a.id === filters.agentId);
  const whose = filters.agentId ? `of ${agent?.name ?? "this agent"}` : "of your agents";

  return (
    <Page
      title="Approvals"
      actions={
        <button type="button" onClick={() => setRound((n) => n + 1)}>
          Refresh<span className="visually-hidden"> the approvals</span>
        </button>
      }
    >
      <p className="muted">
        Work that an agent's approval policy names waits here for a person: a command, a task, or a question from a
        remote agent's process. Approved, it runs; rejected, or left until it expires, it is refused.
      </p>
      <nav aria-label="Approvals" className="subnav">
        <ul>
          <li>
            <Link to={pathOf({ ...filters, show: "pending" })} aria-current={filters.show === "pending" ? "page" : undefined}>
              Waiting for a decision
            </Link>
          </li>
          <li>
            <Link to={pathOf({ ...filters, show: "decided" })} aria-current={filters.show === "decided" ? "page" : undefined}>
              Decided
            </Link>
          </li>
        </ul>
      </nav>
      <form className="toolbar" role="search" aria-label="Filter approvals" onSubmit={(event) => event.preventDefault()}>
        <SelectField label="Kind" value={filters.kind} onChange={(event) => choose({ kind: event.target.value as ApprovalKind | "" })}>
          <option value="">All kinds</option>
          {KINDS.map((kind) => (
            <option key={kind} value={kind}>
              {KIND_WORDS[kind]}
            </option>
          ))}
        </SelectField>
        <SelectField label="Of agent" value={filters.agentId} onChange={(event) => choose({ agentId: event.target.value })}>
          <option value="">All agents</option>
          {filters.agentId && !agent ? <option value={filters.agentId}>{filters.agentId}</option> : null}
          {agentList.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </SelectField>
      </form>
      <ErrorMessage error={agents.error} />
      {filters.show === "decided" ? (
        <DecidedList key={`decided-${round}`} filters={filters} whose={whose} />
      ) : listening ? (
        <PendingList key={`pending-${round}`} filters={filters} whose={whose} />
      ) : (
        <Loading what="the approvals" />
      )}
    </Page>
  );
}

function filterOf(filters: Filters, states: Approval["state"][]) {
  return { states, kinds: filters.kind ? [filters.kind] : null, agentId: filters.agentId || null };
}

type Said = { kind: "decided" | "conflict"; text: string };

/** What a CONFLICT found: the approval as it is now, in words. */
function conflictWords(asked: Approval, now: Approval | null, selfId: string | null | undefined): string {
  return `${approvalTitle(asked)} was not decided: ${tooLateWords(now, selfId)} The list has been read again.`;
}

function PendingList({ filters, whose }: { filters: Filters; whose: string }) {
  const session = useSession();
  const feed = useFeed();
  const list = useConnection(ApprovalsQuery, { filter: filterOf(filters, ["PENDING"]) }, (data) => data.approvals, PAGE_SIZE);
  const [arrived, setArrived] = useState<readonly Approval[]>([]);
  const [removed, setRemoved] = useState<ReadonlySet<string>>(new Set());
  const [said, setSaid] = useState<Said | null>(null);
  const saidRef = useRef<HTMLDivElement>(null);
  const headingId = useId();
  const canDecide = session.can("approval.decide");

  useApprovalArrivals((approval) => {
    if (filters.kind && approval.kind !== filters.kind) return;
    if (filters.agentId && approval.agent.id !== filters.agentId) return;
    setArrived((held) => [approval, ...held.filter((a) => a.id !== approval.id)]);
  });
  // Back after a drop: what was asked meanwhile came to nobody.
  useReconnected(list.refresh);

  useEffect(() => {
    if (said) saidRef.current?.focus();
  }, [said]);

  const listed = new Set(list.nodes.map((a) => a.id));
  const extra = arrived.filter((a) => !listed.has(a.id));
  const shown = [...extra, ...list.nodes].filter((a) => !removed.has(a.id));
  const gone = [...removed].filter((id) => listed.has(id) || extra.some((a) => a.id === id)).length;
  const total = list.totalCount === null ? null : Math.max(0, list.totalCount + extra.length - gone);

  const remove = useCallback((id: string) => setRemoved((held) => new Set(held).add(id)), []);
  const decided = (approval: Approval) => {
    remove(approval.id);
    const why = approval.reason ? `: “${approval.reason}”` : "";
    setSaid({ kind: "decided", text: `${approval.state === "APPROVED" ? "Approved" : "Rejected"} ${approvalTitle(approval).replace(/^./, (c) => c.toLowerCase())}${why}.` });
    approvalsChanged();
  };
  const conflict = (asked: Approval) => (now: Approval | null) => {
    remove(asked.id);
    setSaid({ kind: "conflict", text: conflictWords(asked, now, session.user?.id) });
    list.refresh();
    approvalsChanged();
  };

  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Waiting for a decision</h2>
      {said ? (
        <div ref={saidRef} tabIndex={-1} className={said.kind === "conflict" ? "said error" : "said success"} role={said.kind === "conflict" ? "alert" : "status"}>
          <p>
            {said.text}
            {said.kind === "decided" ? (
              <>
                {" "}
                <Link to={pathOf({ ...filters, show: "decided" })}>See the decided ones</Link>.
              </>
            ) : null}
          </p>
        </div>
      ) : null}
      {canDecide ? (
        feed.error ? (
          <ErrorMessage error={feed.error} />
        ) : (
          <p className="muted">Live: new requests appear here as they are asked.</p>
        )
      ) : (
        <p className="notice">You may see these approvals but not decide them (that needs approval.decide).</p>
      )}
      <ErrorMessage error={list.error} />
      {list.loading ? <Loading what="the approvals" /> : null}
      {total !== null ? (
        <p role="status" className="muted">
          {countOf(total, "approval")} {whose} waiting
        </p>
      ) : null}
      {total === 0 ? <p>Nothing waits for a decision.</p> : null}
      {shown.length > 0 ? (
        <ul className="cards" aria-label={`Approvals ${whose} waiting for a decision`} aria-busy={list.stale || undefined}>
          {shown.map((approval) => (
            <ApprovalCard key={approval.id} approval={approval} linked onDecided={decided} onConflict={conflict(approval)} />
          ))}
        </ul>
      ) : null}
      <LoadMore
        what="approvals"
        shown={shown.length}
        total={total}
        hasNextPage={list.hasNextPage}
        grown={list.grown}
        loading={list.loadingMore}
        onMore={() => void list.loadMore()}
      />
    </section>
  );
}

function DecidedList({ filters, whose }: { filters: Filters; whose: string }) {
  const list = useConnection(ApprovalsQuery, { filter: filterOf(filters, [...DECIDED_STATES]) }, (data) => data.approvals, PAGE_SIZE);
  const headingId = useId();
  const total = list.totalCount;
  return (
    <section aria-labelledby={headingId}>
      <h2 id={headingId}>Decided</h2>
      <ErrorMessage error={list.error} />
      {list.loading ? <Loading what="the approvals" /> : null}
      {total !== null ? (
        <p role="status" className="muted">
          {countOf(total, "approval")} {whose} decided or expired
        </p>
      ) : null}
      {total === 0 ? <p>None decided yet.</p> : null}
      {list.nodes.length > 0 ? (
        <ul className="cards" aria-label={`Approvals ${whose}, decided`} aria-busy={list.stale || undefined}>
          {list.nodes.map((approval) => (
            <ApprovalCard key={approval.id} approval={approval} linked />
          ))}
        </ul>
      ) : null}
      <LoadMore
        what="approvals"
        shown={list.nodes.length}
        total={total}
        hasNextPage={list.hasNextPage}
        grown={list.grown}
        loading={list.loadingMore}
        onMore={() => void list.loadMore()}
      />
    </section>
  );
}
