/**
 * Where an emailed sign-in link lands (/magic-link?token=…): the token leaves the address bar
 * at once (history.replaceState; the page sends no Referer either), is spent with
 * verifyMagicLink, and the user goes on to their agents.
 */
import { useEffect, useState } from "react";
import type { CombinedError } from "urql";

import { ErrorMessage } from "../errors";
import { Link, navigate } from "../router";
import { useSession } from "../session";
import { Loading, Page } from "../ui";

// A token works once: React's development double effects, or a re-render, must not spend it
// twice. Each token's one attempt is kept here.
const attempts = new Map<string, Promise<CombinedError | null>>();

export function MagicLinkPage() {
  const session = useSession();
  const [token] = useState(() => new URLSearchParams(window.location.search).get("token"));
  const [error, setError] = useState<CombinedError | null>(null);
  const [done, setDone] = useState(false);

  useEffect(() => {
    if (window.location.search) window.history.replaceState(null, "", "/magic-link");
    if (!token) return;
    let attempt = attempts.get(token);
    if (!attempt) {
      attempt = session.signInWithMagicLink(token);
      attempts.set(token, attempt);
    }
    let live = true;
    void attempt.then((failed) => {
      if (!live) return;
      setDone(true);
      if (failed) setError(failed);
      else navigate("/agents", { replace: true });
    });
    return () => {
      live = false;
    };
  }, [token]);

  return (
    <Page title="Signing in with your link">
      {!token ? (
        <p>
          This address carries no sign-in token. Ask for a new link on the <Link to="/sign-in">sign-in page</Link>.
        </p>
      ) : !done ? (
        <Loading what="your session" />
      ) : error ? (
        <>
          <ErrorMessage error={error} words={{ UNAUTHENTICATED: "This sign-in link did not work." }} />
          <p>
            A link works once, for 10 minutes at most. Ask for a new one on the <Link to="/sign-in">sign-in page</Link>.
          </p>
        </>
      ) : null}
    </Page>
  );
}
