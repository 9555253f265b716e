/**
 * Paging through a Relay connection one page at a time (agents, tasks, auditLog): the server
 * says whether another page follows (pageInfo) and, where the list is counted, how many it
 * holds in all (totalCount), which makes "page n of m". `useCursorPages` keeps the cursor
 * each page seen so far starts after, for going back; a new `resetKey` (another filter or
 * order) starts again from the first page at once, so that a cursor is never sent with an
 * order it was not written for.
 */
import { useState } from "react";

export function useCursorPages(resetKey: unknown = null) {
  const key = JSON.stringify(resetKey);
  // Page n starts just after cursors[n] (null: from the start).
  const [held, setHeld] = useState<{ key: string; cursors: (string | null)[]; page: number }>({ key, cursors: [null], page: 0 });
  const current = held.key === key ? held : { key, cursors: [null], page: 0 };
  return {
    page: current.page,
    after: current.cursors[current.page] ?? null,
    /** To the page after this one, which starts after `endCursor` (this page's pageInfo). */
    next(endCursor: string | null | undefined) {
      if (!endCursor) return;
      setHeld({ key, cursors: [...current.cursors.slice(0, current.page + 1), endCursor], page: current.page + 1 });
    },
    previous() {
      setHeld({ ...current, page: Math.max(0, current.page - 1) });
    },
    reset() {
      setHeld({ key, cursors: [null], page: 0 });
    },
  };
}

type Props = {
  page: number;
  hasNextPage: boolean;
  onNext: () => void;
  onPrevious: () => void;
  /** Names what is paged, e.g. "audit entries", for the labels. */
  label: string;
  /** What the next page holds, e.g. "Older" (read as "Older audit entries"). */
  nextWord?: string;
  previousWord?: string;
  /** Say "Next" and "Previous" (read as "Next page of agents"): for lists in another order
   * than newest first, where "older" would not be true. */
  byPage?: boolean;
  /** With the list's totalCount and the page size: "Page 2 of 3 (11–20 of 25)". */
  total?: number | null;
  pageSize?: number;
  /** How many this page shows. */
  shown?: number;
};

export function CursorPager({ page, hasNextPage, onNext, onPrevious, label, nextWord = "Older", previousWord = "Newer", byPage, total, pageSize, shown }: Props) {
  if (page === 0 && !hasNextPage) return null;
  const hidden = byPage ? ` page of ${label}` : ` ${label}`;
  const counted = typeof total === "number" && pageSize !== undefined && shown !== undefined;
  const first = page * (pageSize ?? 0) + 1;
  return (
    <nav className="pager" aria-label={`Pages of ${label}`}>
      <button type="button" onClick={onPrevious} disabled={page === 0}>
        {byPage ? "Previous" : previousWord}
        <span className="visually-hidden">{hidden}</span>
      </button>
      <span aria-live="polite">
        Page {page + 1}
        {counted ? ` of ${Math.max(page + 1, Math.ceil(total / pageSize))} (${shown ? `${first}–${first + shown - 1}` : "none"} of ${total})` : ""}
      </span>
      <button type="button" onClick={onNext} disabled={!hasNextPage}>
        {byPage ? "Next" : nextWord}
        <span className="visually-hidden">{hidden}</span>
      </button>
    </nav>
  );
}
