/**
 * The console's layout and route table. Every page but sign-in, registration and the magic
 * link's landing page needs a session: without one the visitor goes to /sign-in, and back to
 * where they were going once signed in.
 */
import { useEffect, useRef, type ReactNode } from "react";

import { AgentPage } from "./pages/AgentPage";
import { AgentsPage } from "./pages/AgentsPage";
import { FilesPage } from "./pages/FilesPage";
import { MagicLinkPage } from "./pages/MagicLinkPage";
import { RegisterPage } from "./pages/RegisterPage";
import { SignInPage } from "./pages/SignInPage";
import { TasksPage } from "./pages/TasksPage";
import { ApiKeysPage } from "./pages/ApiKeysPage";
import { ApprovalPage } from "./pages/approvals/ApprovalPage";
import { ApprovalsPage } from "./pages/approvals/ApprovalsPage";
import { ApprovalsNavLink } from "./pages/approvals/live";
import { SchedulePage } from "./pages/schedules/SchedulePage";
import { SchedulesPage } from "./pages/schedules/SchedulesPage";
import { ThreadPage } from "./pages/threads/ThreadPage";
import { ThreadsPage } from "./pages/threads/ThreadsPage";
import { WebhookPage } from "./pages/webhooks/WebhookPage";
import { WebhooksPage } from "./pages/webhooks/WebhooksPage";
import { AuditPage } from "./pages/admin/AuditPage";
import { UsersPage } from "./pages/admin/UsersPage";
import { Link, RouteParams, matchRoute, navigate, useRoute } from "./router";
import { useSession } from "./session";
import { Loading, Page } from "./ui";

type RouteDef = { path: string; page: () => ReactNode; public?: boolean; admin?: boolean };

const ROUTES: readonly RouteDef[] = [
  { path: "/sign-in", page: () => <SignInPage />, public: true },
  { path: "/register", page: () => <RegisterPage />, public: true },
  { path: "/magic-link", page: () => <MagicLinkPage />, public: true },
  { path: "/agents", page: () => <AgentsPage /> },
  { path: "/agents/:id", page: () => <AgentPage /> },
  { path: "/schedules", page: () => <SchedulesPage /> },
  { path: "/schedules/:id", page: () => <SchedulePage /> },
  { path: "/webhooks", page: () => <WebhooksPage /> },
  { path: "/webhooks/:id", page: () => <WebhookPage /> },
  { path: "/threads", page: () => <ThreadsPage /> },
  { path: "/threads/:id", page: () => <ThreadPage /> },
  { path: "/tasks", page: () => <TasksPage /> },
  { path: "/approvals", page: () => <ApprovalsPage /> },
  { path: "/approvals/:id", page: () => <ApprovalPage /> },
  { path: "/files", page: () => <FilesPage /> },
  // Every user's own keys (apiKeys lists the caller's; apikey.manage is USER's too).
  { path: "/api-keys", page: () => <ApiKeysPage /> },
  { path: "/admin/users", page: () => <UsersPage />, admin: true },
  { path: "/admin/audit", page: () => <AuditPage />, admin: true },
];

/** Where to go after signing in: a path of this console only (never another origin). */
export function safeNext(next: string | null): string {
  if (next && next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\")) return next;
  return "/agents";
}

function Header() {
  const session = useSession();
  const user = session.user;
  return (
    <header className="site-header">
      <a className="brand" href="/agents" onClick={(event) => { event.preventDefault(); navigate(user ? "/agents" : "/sign-in"); }}>
        kAI console
      </a>
      {user ? (
        <>
          <nav aria-label="Main">
            <ul>
              <li><Link to="/agents">Agents</Link></li>
              <li><Link to="/threads">Threads</Link></li>
              <li><Link to="/tasks">Tasks</Link></li>
              <li><ApprovalsNavLink /></li>
              <li><Link to="/schedules">Schedules</Link></li>
              <li><Link to="/webhooks">Webhooks</Link></li>
              <li><Link to="/files">Files</Link></li>
              <li><Link to="/api-keys">API keys</Link></li>
              {user.role === "ADMIN" ? (
                <li><Link to="/admin/users">Admin</Link></li>
              ) : null}
            </ul>
          </nav>
          <div className="who">
            <span aria-label="Signed in as">{user.email}</span>
            <button type="button" onClick={() => void session.signOut().then(() => navigate("/sign-in"))}>
              Sign out
            </button>
          </div>
        </>
      ) : null}
    </header>
  );
}

function AdminNav() {
  return (
    <nav aria-label="Administration" className="subnav">
      <ul>
        <li><Link to="/admin/users">Users</Link></li>
        <li><Link to="/admin/audit">Audit log</Link></li>
      </ul>
    </nav>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Content() {
  const route = useRoute();
  const session = useSession();
  const path = route.path.length > 1 ? route.path.replace(/\/+$/, "") : route.path;

  if (path === "/" || path === "/admin") {
    if (session.status === "restoring") return <Loading what="your session" />;
    return <Redirect to={session.user ? (path === "/admin" ? "/admin/users" : "/agents") : "/sign-in"} />;
  }
  for (const def of ROUTES) {
    const params = matchRoute(def.path, path);
    if (params === null) continue;
    if (!def.public) {
      if (session.status === "restoring") return <Loading what="your session" />;
      if (!session.user) {
        const next = `${route.path}${window.location.search}`;
        return <Redirect to={`/sign-in?next=${encodeURIComponent(next)}`} />;
      }
      if (def.admin && session.user.role !== "ADMIN") {
        return (
          <Page title="Administration">
            <p>You do not have permission to see this page: it is for administrators (ADMIN).</p>
          </Page>
        );
      }
    }
    return (
      <RouteParams.Provider value={params}>
        {def.admin ? <AdminNav /> : null}
        {def.page()}
      </RouteParams.Provider>
    );
  }
  return (
    <Page title="Page not found">
      <p>
        There is no page at <code>{route.path}</code>. Go to <Link to="/agents">your agents</Link>.
      </p>
    </Page>
  );
}

export function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);

  // After a navigation, focus goes to the new page (as a page load would take it to the top).
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    main.current?.focus();
  }, [route.path]);

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header />
      <main id="main" ref={main} tabIndex={-1}>
        <Content />
      </main>
    </>
  );
}
