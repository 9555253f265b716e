/**
 * A list read from a Relay connection (agents, files, tasks, apiKeys, users), shown as one
 * growing list: the first page, then each page "Load more" asks for, after the endCursor of
 * the page before it. The server filters, sorts and counts (totalCount); the page keeps none
 * of that logic.
 *
 * - The first page is read once for its variables: from urql's cache at once, when it has it,
 *   then from the network. It is not read again behind the reader's back (urql would, when a
 *   mutation returns a type the list holds): an API key just revoked, or an account whose
 *   role just changed, stays where it is, showing its new state, until the reader refreshes
 *   or changes a filter.
 * - "Load more" reads `first` more after the last cursor shown. A later page is kept only
 *   while it still follows on from what is shown (its `after` is the cursor shown before it):
 *   when the first read comes back different, the pages after it are dropped rather than
 *   shown with a gap or a repeat.
 * - refresh() reads again as many as are shown, from the start, in one request (up to the
 *   server's 500), so that a reader who loaded three pages still sees them all.
 * - New variables (a filter, an order) start again from the first page; what was shown stays
 *   on screen, marked stale, until the new answer comes.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useClient, type AnyVariables, type CombinedError, type RequestPolicy, type TypedDocumentNode } from "urql";

/** The largest page the server gives (MAX_PAGE in kai/services/pagination.py). */
export const MAX_PAGE = 500;

/** What every connection of the schema has, as the console's documents select it. */
export type Connection<N> = {
  readonly edges: readonly { readonly node: N }[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor?: string | null };
  readonly totalCount: number;
};

type Page<N> = { nodes: readonly N[]; hasNextPage: boolean; endCursor: string | null };
type Paging = { first?: number | null; after?: string | null };

type State<N> = {
  /** The variables (as JSON) that `first` and `more` were read with. */
  key: string | null;
  first: Page<N> | null;
  /** Pages read after the first, each with the cursor it was read after. */
  more: readonly { after: string; page: Page<N> }[];
  totalCount: number | null;
  error: CombinedError | null;
};

function pageOf<N>(connection: Connection<N>): Page<N> {
  return {
    nodes: connection.edges.map((edge) => edge.node),
    hasNextPage: connection.pageInfo.hasNextPage,
    endCursor: connection.pageInfo.endCursor ?? null,
  };
}

/** Of the pages read after `first`, those that still follow on from it, in order: each read
 * after the endCursor of the one before. */
function following<N>(first: Page<N> | null, more: State<N>["more"]): State<N>["more"] {
  const kept: { after: string; page: Page<N> }[] = [];
  let cursor = first?.endCursor ?? null;
  for (const read of more) {
    if (cursor === null || read.after !== cursor) break;
    kept.push(read);
    cursor = read.page.endCursor;
  }
  return kept;
}

export function useConnection<Data, Variables extends AnyVariables & Paging, N extends { readonly id: string }>(
  document: TypedDocumentNode<Data, Variables>,
  variables: Omit<Variables, "first" | "after">,
  select: (data: Data) => Connection<N> | null | undefined,
  pageSize: number,
) {
  const client = useClient();
  const key = JSON.stringify(variables);
  const [state, setState] = useState<State<N>>({ key: null, first: null, more: [], totalCount: null, error: null });
  // How many the first read asks for, and how (refresh: past the cache).
  const [read, setRead] = useState<{ key: string; first: number; policy: RequestPolicy; round: number }>({
    key,
    first: pageSize,
    policy: "cache-and-network",
    round: 0,
  });
  const [fetching, setFetching] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const selectRef = useRef(select);
  selectRef.current = select;
  const current = useRef(key);
  current.current = key;

  // New variables: from the first page again.
  const wanted = read.key === key ? read : { key, first: pageSize, policy: "cache-and-network" as const, round: read.round };
  useEffect(() => {
    if (read.key !== key) setRead(wanted);
  }, [key]);

  useEffect(() => {
    setFetching(true);
    const vars = { ...JSON.parse(wanted.key), first: wanted.first, after: null } as Variables;
    let done = false;
    let subscription: { unsubscribe: () => void } | null = null;
    subscription = client.query(document, vars, { requestPolicy: wanted.policy }).subscribe((result) => {
      if (done) return;
      const connection = result.data ? selectRef.current(result.data) : null;
      setState((held) => {
        const same = held.key === wanted.key;
        const first = connection ? pageOf(connection) : same ? held.first : null;
        return {
          key: wanted.key,
          first,
          more: same ? following(first, held.more) : [],
          totalCount: connection ? connection.totalCount : same ? held.totalCount : null,
          error: result.error ?? null,
        };
      });
      if (result.stale) return;
      // Read once: the list changes when the page asks (refresh, new variables), not under
      // the reader's hands when a mutation elsewhere on the page touches one of its types.
      done = true;
      setFetching(false);
      subscription?.unsubscribe();
    });
    if (done) subscription.unsubscribe();
    return () => {
      done = true;
      subscription?.unsubscribe();
    };
  }, [client, document, wanted.key, wanted.first, wanted.policy, wanted.round]);

  // What is shown: the first page, then the later pages (each follows on from the one before).
  const shown = useMemo(() => {
    const pages: Page<N>[] = state.first ? [state.first, ...state.more.map((m) => m.page)] : [];
    const seen = new Set<string>();
    const nodes: N[] = [];
    for (const node of pages.flatMap((page) => page.nodes)) {
      if (seen.has(node.id)) continue;
      seen.add(node.id);
      nodes.push(node);
    }
    const last = pages[pages.length - 1];
    return { nodes, hasNextPage: last?.hasNextPage ?? false, endCursor: last?.endCursor ?? null };
  }, [state.first, state.more]);

  const loadMore = useCallback(async () => {
    const after = shown.endCursor;
    if (!after || !shown.hasNextPage || loadingMore) return;
    const asked = key;
    setLoadingMore(true);
    const vars = { ...JSON.parse(asked), first: pageSize, after } as Variables;
    const result = await client.query(document, vars, { requestPolicy: "network-only" }).toPromise();
    setLoadingMore(false);
    if (current.current !== asked) return;
    const connection = result.data ? selectRef.current(result.data) : null;
    setState((held) =>
      held.key !== asked
        ? held
        : {
            ...held,
            more: connection ? following(held.first, [...held.more, { after, page: pageOf(connection) }]) : held.more,
            totalCount: connection ? connection.totalCount : held.totalCount,
            error: result.error ?? null,
          },
    );
  }, [client, document, key, pageSize, shown.endCursor, shown.hasNextPage, loadingMore]);

  const refresh = useCallback(() => {
    const first = Math.min(MAX_PAGE, Math.max(pageSize, shown.nodes.length));
    setRead((held) => ({ key, first, policy: "network-only", round: held.round + 1 }));
  }, [key, pageSize, shown.nodes.length]);

  const fresh = state.key === key;
  return {
    /** Every item shown, in the server's order. */
    nodes: shown.nodes,
    /** How many the whole list holds, filters applied; null before the first answer. */
    totalCount: state.totalCount,
    hasNextPage: shown.hasNextPage,
    /** Whether more than a page is shown (loaded with "Load more", or read again at once). */
    grown: shown.nodes.length > pageSize,
    /** Nothing to show yet for these variables (the first answer is on its way). */
    loading: state.first === null && !state.error,
    /** An answer is on its way (the first, a refresh, or new variables). */
    fetching: fetching || !fresh,
    /** What is shown was read with other variables; the new answer is on its way. */
    stale: state.first !== null && !fresh,
    loadingMore,
    error: state.error,
    loadMore,
    refresh,
  };
}

/** `value`, once it has stopped changing for `ms` (a search box's text, read as typed). */
export function useSettled<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = window.setTimeout(() => setSettled(value), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
