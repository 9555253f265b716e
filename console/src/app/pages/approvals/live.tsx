/**
 * Approvals live, for the whole console. While someone who may decide (approval.decide) is
 * signed in, the navigation's Approvals link runs the console's one approvalRequests
 * subscription, over the shared WebSocket, and says how many approvals wait:
 *
 * - each new PENDING approval is handed to the pages that listen (`useApprovalArrivals`: the
 *   inbox shows it at once) and the count is read again;
 * - the count (approvals PENDING, totalCount) is read again on every navigation, after each
 *   decision or refusal the pages report (`approvalsChanged`), and when the live connection
 *   comes back after a drop (what was asked meanwhile came to nobody);
 * - over Server-Sent Events, where each stream holds one of the browser's few connections,
 *   the subscription runs only while an Approvals page is open, and the count is read again
 *   every POLL_OVER_SSE_MS instead.
 *
 * One subscription, not one per listener: urql shares an operation between the hooks that run
 * it, and a second start of the same subscription would send each request twice.
 */
import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useClient, useQuery, type CombinedError } from "urql";

import { getConnection, subscribeConnection, useLiveOverSse, useReconnected } from "../../client";
import { Link, useRoute } from "../../router";
import { useSession } from "../../session";
import "./approvals.css";
import { ApprovalRequestsSubscription, PendingApprovalsQuery, type Approval } from "./documents";

type Feed = { version: number; error: CombinedError | null; running: boolean };

let feed: Feed = { version: 0, error: null, running: false };
const feedListeners = new Set<() => void>();
const arrivalListeners = new Set<(approval: Approval) => void>();

function setFeed(next: Partial<Feed>): void {
  feed = { ...feed, ...next };
  for (const listener of [...feedListeners]) listener();
}

function subscribeFeed(listener: () => void): () => void {
  feedListeners.add(listener);
  return () => feedListeners.delete(listener);
}

const getFeed = () => feed;

/** Something changed what waits (a decision here, a CONFLICT, an expiry): the count and the
 * lists that follow `useFeed().version` read again. */
export function approvalsChanged(): void {
  setFeed({ version: feed.version + 1 });
}

/** The feed's state: `version` grows with every change, `error` says why it stopped. */
export function useFeed(): Feed {
  return useSyncExternalStore(subscribeFeed, getFeed);
}

/** Calls `onArrival` with each new PENDING approval, as it is asked, while mounted. */
export function useApprovalArrivals(onArrival: (approval: Approval) => void): void {
  const latest = useRef(onArrival);
  latest.current = onArrival;
  useEffect(() => {
    const listener = (approval: Approval) => latest.current(approval);
    arrivalListeners.add(listener);
    return () => {
      arrivalListeners.delete(listener);
    };
  }, []);
}

/**
 * Whether a list of pending approvals may be read now: once the feed's subscription is on the
 * wire (the socket is up: graphql-ws sends a subscribe as soon as it is), so that nothing
 * asked between the two is missed ("subscribe first, then query"); at once for someone with
 * no feed, over SSE, or after two seconds whatever the socket does.
 */
export function useFeedListening(): boolean {
  const session = useSession();
  const { transport, connected } = useSyncExternalStore(subscribeConnection, getConnection);
  const { running } = useFeed();
  const [waited, setWaited] = useState(false);
  useEffect(() => {
    const timer = window.setTimeout(() => setWaited(true), 2000);
    return () => window.clearTimeout(timer);
  }, []);
  return !session.can("approval.decide") || transport === "sse" || (running && connected) || waited;
}

/** Runs the approvalRequests subscription while `active`. */
function useApprovalFeed(active: boolean): void {
  const client = useClient();
  useEffect(() => {
    if (!active) return;
    setFeed({ running: true, error: null });
    const subscription = client.subscription(ApprovalRequestsSubscription, {}).subscribe((result) => {
      if (result.error) {
        setFeed({ error: result.error });
        return;
      }
      const approval = result.data?.approvalRequests;
      if (!approval) return;
      for (const listener of [...arrivalListeners]) listener(approval);
      approvalsChanged();
    });
    return () => {
      subscription.unsubscribe();
      setFeed({ running: false });
    };
  }, [client, active]);
}

/** How many approvals wait, read again as the module's comment says; null before the first answer. */
function usePendingCount(): number | null {
  const route = useRoute();
  const { version } = useFeed();
  const [result, reread] = useQuery({ query: PendingApprovalsQuery, requestPolicy: "network-only" });
  const again = () => reread({ requestPolicy: "network-only" });
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    again();
  }, [route.path, version]);
  useLiveOverSse(again);
  useReconnected(approvalsChanged);
  return result.data?.approvals.totalCount ?? null;
}

/** The navigation's link to the inbox, with how many approvals wait; it runs the feed. */
export function ApprovalsNavLink() {
  const session = useSession();
  const route = useRoute();
  const overSse = useLiveOverSse();
  const onPage = route.path === "/approvals" || route.path.startsWith("/approvals/");
  useApprovalFeed(session.can("approval.decide") && (!overSse || onPage));
  const count = usePendingCount();
  return (
    <Link to="/approvals">
      Approvals
      {count ? (
        <span className="nav-count">
          {count > 99 ? "99+" : count}
          <span className="visually-hidden"> waiting</span>
        </span>
      ) : null}
    </Link>
  );
}
