/**
 * A webhook's signing secret, shown the once the server answers it (createWebhook,
 * rotateWebhookSecret): what it is for, that it will not be shown again, and a copy button.
 * The secret lives only in the state of the page that shows it, until "hide".
 */
import { useEffect, useId, useRef, useState, type ReactNode } from "react";

type Props = {
  /** The card's heading, e.g. "The signing secret of your new webhook". */
  title: string;
  secret: string;
  /** What else the reader must know now (a rotation's 24 hours). */
  children?: ReactNode;
  onDone: () => void;
};

export function SigningSecret({ title, secret, children, onDone }: Props) {
  const [copied, setCopied] = useState<"" | "copied" | "failed">("");
  const headingId = useId();
  const secretId = useId();
  const heading = useRef<HTMLHeadingElement>(null);

  // The one thing to act on now: focus goes to it.
  useEffect(() => heading.current?.focus(), []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
  };

  return (
    <section aria-labelledby={headingId} className="card secret">
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <p className="warning" role="alert">
        Copy it now: it will not be shown again. kAI keeps it only to sign requests and never shows it back; a lost
        secret can only be replaced (Rotate secret).
      </p>
      <p>
        Your endpoint checks each request's <code>webhook-signature</code> header with it (Standard Webhooks: any of its
        libraries does).
      </p>
      {children}
      <div className="field">
        <label htmlFor={secretId}>Signing secret</label>
        <input id={secretId} className="code" readOnly value={secret} onFocus={(event) => event.target.select()} />
      </div>
      <div className="actions">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy the secret
        </button>
        <button type="button" onClick={onDone}>
          I have stored it: hide it
        </button>
      </div>
      <p role="status" className="status">
        {copied === "copied" ? "Copied to the clipboard." : ""}
        {copied === "failed" ? "The browser would not let this page copy: select the secret above and copy it yourself." : ""}
      </p>
    </section>
  );
}
