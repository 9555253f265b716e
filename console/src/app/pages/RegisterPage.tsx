/** A new account. The first account on a server becomes its ADMIN: the page says so. */
import { useState, type FormEvent } from "react";
import type { CombinedError } from "urql";

import { ErrorMessage } from "../errors";
import { Link, navigate } from "../router";
import { useSession } from "../session";
import { Field, Page } from "../ui";

export function RegisterPage() {
  const session = useSession();
  const [email, setEmail] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<CombinedError | null>(null);
  const [busy, setBusy] = useState(false);
  const tooShort = password.length > 0 && password.length < 8;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (password.length < 8 || password.length > 128) return;
    setBusy(true);
    setError(null);
    const failed = await session.register(email.trim(), password, displayName);
    setBusy(false);
    if (failed) setError(failed);
    else navigate("/agents", { replace: true });
  };

  return (
    <Page title="Register">
      <p className="notice">
        The first account registered on a kAI server becomes its administrator (<strong>ADMIN</strong>); every
        later account is a user (USER), whose role an administrator can change.
      </p>
      <form className="card" onSubmit={(event) => void submit(event)}>
        <Field label="Email" type="email" name="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Field
          label="Display name (optional)"
          name="display-name"
          autoComplete="name"
          maxLength={100}
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
        />
        <Field
          label="Password"
          type="password"
          name="new-password"
          autoComplete="new-password"
          required
          minLength={8}
          maxLength={128}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint="8 to 128 characters; the most common passwords are refused."
          error={tooShort ? "At least 8 characters." : null}
        />
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Registering…" : "Register"}
        </button>
      </form>
      <p>
        Already registered? <Link to="/sign-in">Sign in</Link>.
      </p>
    </Page>
  );
}
