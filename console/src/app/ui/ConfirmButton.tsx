/**
 * A button for something that cannot be taken back: the first press asks (with the question
 * in words and focus on the confirming button), the second does it; Cancel or Escape backs out.
 */
import { useEffect, useRef, useState, type ReactNode } from "react";

type Props = {
  /** The button's text, e.g. "Delete". */
  children: ReactNode;
  /** The question asked, e.g. "Delete agent helper? Its logs and files go too." */
  question: ReactNode;
  /** The confirming button's text; defaults to "Yes, " + children. */
  confirmLabel?: string;
  /** The backing-out button's text; defaults to "Cancel" (say another when the action is a cancel). */
  backOutLabel?: string;
  /** Names the button for assistive technology when its text alone is ambiguous in a list. */
  "aria-label"?: string;
  onConfirm: () => void | Promise<unknown>;
  disabled?: boolean;
  danger?: boolean;
};

export function ConfirmButton({ children, question, confirmLabel, backOutLabel, onConfirm, disabled, danger, ...rest }: Props) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const openRef = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);

  useEffect(() => {
    if (asking) confirmRef.current?.focus();
    else if (wasAsking.current) openRef.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  if (!asking) {
    return (
      <button
        type="button"
        ref={openRef}
        className={danger ? "danger" : undefined}
        disabled={disabled || busy}
        aria-label={rest["aria-label"]}
        onClick={() => setAsking(true)}
      >
        {children}
      </button>
    );
  }
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };
  return (
    <span
      className="confirm"
      role="group"
      aria-label={typeof children === "string" ? `Confirm: ${children}` : "Confirm"}
      onKeyDown={(event) => {
        if (event.key === "Escape") setAsking(false);
      }}
    >
      <span className="confirm-question">{question}</span>
      <button type="button" ref={confirmRef} className={danger ? "danger" : "primary"} disabled={busy} onClick={() => void confirm()}>
        {confirmLabel ?? (typeof children === "string" ? `Yes, ${children.toLowerCase()}` : "Yes")}
      </button>
      <button type="button" disabled={busy} onClick={() => setAsking(false)}>
        {backOutLabel ?? "Cancel"}
      </button>
    </span>
  );
}
