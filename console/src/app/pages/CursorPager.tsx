/**
 * Paging through a Relay connection (Agent.tasks, auditLog): the server says only whether
 * another page follows, so the pager says "page n", never "of m". `useCursorPages` keeps the
 * cursor each page seen so far starts after, for going back.
 */
import { useState } from "react";

export function useCursorPages() {
  // Page n starts just after cursors[n] (null: from the newest).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(0);
  return {
    page,
    after: cursors[page] ?? null,
    /** To the page after this one, which starts after `endCursor` (this page's pageInfo). */
    next(endCursor: string | null | undefined) {
      if (!endCursor) return;
      setCursors((held) => [...held.slice(0, page + 1), endCursor]);
      setPage(page + 1);
    },
    previous() {
      setPage(Math.max(0, page - 1));
    },
    reset() {
      setCursors([null]);
      setPage(0);
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
  /** What the next page holds, e.g. "Older". */
  nextWord?: string;
  previousWord?: string;
};

export function CursorPager({ page, hasNextPage, onNext, onPrevious, label, nextWord = "Older", previousWord = "Newer" }: Props) {
  if (page === 0 && !hasNextPage) return null;
  return (
    <nav className="pager" aria-label={`Pages of ${label}`}>
      <button type="button" onClick={onPrevious} disabled={page === 0}>
        {previousWord}
        <span className="visually-hidden"> {label}</span>
      </button>
      <span aria-live="polite">Page {page + 1}</span>
      <button type="button" onClick={onNext} disabled={!hasNextPage}>
        {nextWord}
        <span className="visually-hidden"> {label}</span>
      </button>
    </nav>
  );
}
