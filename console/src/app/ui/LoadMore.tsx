/**
 * The foot of a list read a page at a time (useConnection in ../connection.ts): how many of
 * the list are shown, and a "Load more" button while the server says more follow. When the
 * last page comes in the button goes; the focus it had moves to the count rather than
 * falling to the top of the page.
 */
import { useEffect, useRef } from "react";

type Props = {
  /** Names what is listed, e.g. "files", for the button's label and the count. */
  what: string;
  shown: number;
  total: number | null;
  hasNextPage: boolean;
  /** Whether more than a page is shown: then the count stays once the last page came. */
  grown: boolean;
  loading: boolean;
  onMore: () => void;
};

export function LoadMore({ what, shown, total, hasNextPage, grown, loading, onMore }: Props) {
  const button = useRef<HTMLButtonElement>(null);
  const count = useRef<HTMLSpanElement>(null);
  const focused = useRef(false);

  useEffect(() => {
    if (!hasNextPage && focused.current) count.current?.focus();
    focused.current = false;
  }, [hasNextPage]);

  // A list that fits one page needs no foot: the count above it says it all.
  if (total === null || !(hasNextPage || grown)) return null;
  const words = loading ? `Loading more ${what}…` : shown >= total ? `All ${total} ${what} shown` : `${shown} of ${total} ${what} shown`;
  return (
    <div className="pager load-more">
      <span ref={count} tabIndex={-1} aria-live="polite">
        {words}
      </span>
      {hasNextPage ? (
        <button
          ref={button}
          type="button"
          aria-disabled={loading || undefined}
          onClick={() => {
            if (loading) return;
            focused.current = document.activeElement === button.current;
            onMore();
          }}
        >
          Load more<span className="visually-hidden"> {what}</span>
        </button>
      ) : null}
    </div>
  );
}
