/**
 * Client-side paging of a list that the API returns whole (today's `agents`, `files`): the
 * hook slices it, the component moves between pages. When the API pages on the server (a Relay
 * connection), the same component can be driven by its pageInfo instead.
 */
import { useEffect, useState } from "react";

export function usePaged<T>(items: readonly T[], pageSize: number, resetKey: unknown = null) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(items.length / pageSize));
  // A new filter starts from the first page; a shorter list keeps the page in range.
  useEffect(() => setPage(0), [resetKey]);
  const current = Math.min(page, pages - 1);
  return {
    page: current,
    pages,
    setPage,
    total: items.length,
    items: items.slice(current * pageSize, current * pageSize + pageSize),
    first: items.length === 0 ? 0 : current * pageSize + 1,
    last: Math.min(items.length, (current + 1) * pageSize),
  };
}

type Props = {
  page: number;
  pages: number;
  setPage: (page: number) => void;
  /** Names what is paged, e.g. "agents", for the labels. */
  label: string;
  first?: number;
  last?: number;
  total?: number;
};

export function Pager({ page, pages, setPage, label, first, last, total }: Props) {
  if (pages <= 1 && !total) return null;
  return (
    <nav className="pager" aria-label={`Pages of ${label}`}>
      <button type="button" onClick={() => setPage(page - 1)} disabled={page <= 0}>
        Previous<span className="visually-hidden"> page of {label}</span>
      </button>
      <span aria-live="polite">
        Page {page + 1} of {pages}
        {total !== undefined && first !== undefined && last !== undefined ? ` (${first}–${last} of ${total})` : ""}
      </span>
      <button type="button" onClick={() => setPage(page + 1)} disabled={page >= pages - 1}>
        Next<span className="visually-hidden"> page of {label}</span>
      </button>
    </nav>
  );
}
