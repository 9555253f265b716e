/**
 * A tiny router on the History API (no dependency): the location as an external store,
 * `navigate`, `Link`, and `matchRoute` for the route table in App.tsx. Paths are the console's
 * own; the server serves index.html at each of them (kai/routes/console.py CONSOLE_SECTIONS).
 */
import { createContext, useContext, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from "react";

export type Location = { readonly pathname: string; readonly search: string };

const listeners = new Set<() => void>();
let current: Location = read();

function read(): Location {
  return { pathname: window.location.pathname, search: window.location.search };
}

function changed(): void {
  const next = read();
  if (next.pathname === current.pathname && next.search === current.search) return;
  current = next;
  for (const listener of [...listeners]) listener();
}

window.addEventListener("popstate", changed);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getLocation(): Location {
  return current;
}

/** Goes to `path` (a path on this origin, with an optional ?query). */
export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, "", path);
  else window.history.pushState(null, "", path);
  changed();
}

export type Route = {
  readonly path: string;
  readonly query: URLSearchParams;
  /** The matched route's `:name` segments. */
  readonly params: Readonly<Record<string, string>>;
};

export const RouteParams = createContext<Readonly<Record<string, string>>>({});

/** The current path, query and the matched route's parameters. */
export function useRoute(): Route {
  const location = useSyncExternalStore(subscribe, getLocation);
  const params = useContext(RouteParams);
  return { path: location.pathname, query: new URLSearchParams(location.search), params };
}

/** The parameters of `pattern` (`/agents/:id`) in `path`, or null when it does not match. */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/").filter(Boolean);
  const have = path.split("/").filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    const h = have[i] ?? "";
    if (w.startsWith(":")) {
      try {
        params[w.slice(1)] = decodeURIComponent(h);
      } catch {
        return null;
      }
    } else if (w !== h) {
      return null;
    }
  }
  return params;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, "href"> & { to: string };

/** An <a> that changes the page without a reload (a modified or middle click still opens a tab). */
export function Link({ to, onClick, ...rest }: LinkProps) {
  const handle = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey ||
      (rest.target && rest.target !== "_self")
    ) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  const { pathname } = useSyncExternalStore(subscribe, getLocation);
  const active = pathname === to || pathname.startsWith(`${to}/`);
  return <a href={to} aria-current={active && to !== "/" ? "page" : undefined} {...rest} onClick={handle} />;
}
