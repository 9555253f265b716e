/** Sign in with a password, or have a sign-in link emailed. */
import { useEffect, useState, type FormEvent } from "react";
import type { CombinedError } from "urql";

import { safeNext } from "../App";
import { ErrorMessage } from "../errors";
import { Link, navigate, useRoute } from "../router";
import { useSession } from "../session";
import { Field, Page } from "../ui";

export function SignInPage() {
  const session = useSession();
  const route = useRoute();
  const next = safeNext(route.query.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<CombinedError | null>(null);
  const [busy, setBusy] = useState(false);

  const [linkEmail, setLinkEmail] = useState("");
  const [linkError, setLinkError] = useState<CombinedError | null>(null);
  const [linkSentTo, setLinkSentTo] = useState<string | null>(null);
  const [linkBusy, setLinkBusy] = useState(false);

  useEffect(() => {
    if (session.user) navigate(next, { replace: true });
  }, [session.user, next]);

  const signIn = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failed = await session.signIn(email.trim(), password);
    setBusy(false);
    if (failed) setError(failed);
    else navigate(next, { replace: true });
  };

  const emailLink = async (event: FormEvent) => {
    event.preventDefault();
    setLinkBusy(true);
    setLinkError(null);
    setLinkSentTo(null);
    const failed = await session.requestMagicLink(linkEmail.trim());
    setLinkBusy(false);
    if (failed) setLinkError(failed);
    else setLinkSentTo(linkEmail.trim());
  };

  return (
    <Page title="Sign in">
      {session.endedBecause ? (
        <p className="notice" role="status">
          {session.endedBecause}
        </p>
      ) : null}
      <section aria-labelledby="password-heading" className="card">
        <h2 id="password-heading">With your password</h2>
        <form onSubmit={(event) => void signIn(event)}>
          <Field label="Email" type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Field
            label="Password"
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          <ErrorMessage error={error} words={{ UNAUTHENTICATED: "Sign-in refused." }} />
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      </section>
      <section aria-labelledby="link-heading" className="card">
        <h2 id="link-heading">With a link by email</h2>
        <form onSubmit={(event) => void emailLink(event)}>
          <Field
            label="Email for the sign-in link"
            type="email"
            name="link-email"
            autoComplete="email"
            required
            value={linkEmail}
            onChange={(e) => setLinkEmail(e.target.value)}
            hint="The link works once, for 10 minutes at most."
          />
          <ErrorMessage error={linkError} />
          {linkSentTo ? (
            <p className="success" role="status">
              If {linkSentTo} has an account, a sign-in link is on its way to it.
            </p>
          ) : null}
          <button type="submit" disabled={linkBusy}>
            {linkBusy ? "Sending…" : "Email me a link"}
          </button>
        </form>
      </section>
      <p>
        No account yet? <Link to="/register">Register</Link>.
      </p>
    </Page>
  );
}
