/** How the Approvals pages put an approval into words: its kind, its state, who, and when. */
import { formatTime } from "../../ui";
import type { Approval, ApprovalKind, ApprovalState } from "./documents";

export const KIND_WORDS: Record<ApprovalKind, string> = {
  COMMAND: "Command",
  TASK: "Task",
  ACTION: "Remote agent's question",
};
export const KINDS = Object.keys(KIND_WORDS) as ApprovalKind[];

export const STATE_WORDS: Record<ApprovalState, string> = {
  PENDING: "Waiting for a decision",
  APPROVED: "Approved",
  REJECTED: "Rejected",
  EXPIRED: "Expired",
};
export const DECIDED_STATES: readonly ApprovalState[] = ["APPROVED", "REJECTED", "EXPIRED"];

type Person = { readonly id: string; readonly email: string; readonly displayName?: string | null };

/** "Ada (ada@example.com)", or the address alone; "you" for the signed-in person. */
export function personWords(person: Person, selfId?: string | null): string {
  if (person.id === selfId) return "you";
  return person.displayName ? `${person.displayName} (${person.email})` : person.email;
}

function textField(subject: unknown, name: string): string | null {
  if (typeof subject !== "object" || subject === null || Array.isArray(subject)) return null;
  const value = (subject as Record<string, unknown>)[name];
  return typeof value === "string" ? value : null;
}

/** What would run, in a few words: "command deploy", "task report", "a question". */
export function subjectTitle(approval: Pick<Approval, "kind" | "subject">): string {
  if (approval.kind === "COMMAND") return `command ${textField(approval.subject, "command") ?? "(unnamed)"}`;
  if (approval.kind === "TASK") return `task ${textField(approval.subject, "type") ?? "(untyped)"}`;
  return "a question from its process";
}

/** The approval's heading: "Command deploy on agent gated". */
export function approvalTitle(approval: Pick<Approval, "kind" | "subject" | "agent">): string {
  const what = subjectTitle(approval);
  if (approval.kind === "ACTION") return `Agent ${approval.agent.name} asks`;
  return `${what.charAt(0).toUpperCase()}${what.slice(1)} on agent ${approval.agent.name}`;
}

/** "in 9 minutes", "in 2 hours", "now": how long until `iso`, for a person. */
export function untilWords(iso: string, now: number): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  if (!Number.isFinite(seconds) || seconds <= 0) return "now";
  const [count, unit] =
    seconds < 90 ? [seconds, "second"] : seconds < 5400 ? [Math.round(seconds / 60), "minute"] : seconds < 129600 ? [Math.round(seconds / 3600), "hour"] : [Math.round(seconds / 86400), "day"];
  return `in ${count} ${unit}${count === 1 ? "" : "s"}`;
}

/** "5/12/2026, 18:30:00 (in 9 minutes)". */
export function expiryWords(iso: string | null | undefined, now: number): string {
  if (!iso) return "never";
  return `${formatTime(iso)} (${untilWords(iso, now)})`;
}

/** How it was decided: "Approved by Ada (ada@example.com)", "Expired: nobody decided in time". */
export function outcomeWords(approval: Approval, selfId?: string | null): string {
  if (approval.state === "PENDING") return STATE_WORDS.PENDING;
  if (approval.state === "EXPIRED") return "Expired: nobody decided in time";
  const by = approval.decidedBy ? ` by ${personWords(approval.decidedBy, selfId)}` : "";
  return `${STATE_WORDS[approval.state]}${by}`;
}

/** Why a decision came too late (CONFLICT), from the approval as it is now: "it had already
 * been decided. Rejected by Bob (bob@example.com) (“not today”)." */
export function tooLateWords(now: Approval | null, selfId?: string | null): string {
  if (!now) return "it is no longer there.";
  // Still PENDING: its time is up, and the server's sweep has not marked it EXPIRED yet.
  if (now.state === "EXPIRED" || now.state === "PENDING") return "its time ran out first, and it expired.";
  const why = now.reason ? ` (“${now.reason}”)` : "";
  return `it had already been decided. ${outcomeWords(now, selfId)}${why}.`;
}

export function StateBadge({ state }: { state: ApprovalState }) {
  return <span className={`badge approval-${state.toLowerCase()}`}>{STATE_WORDS[state]}</span>;
}

/** 30 → "30 seconds", 3600 → "1 hour", 5400 → "90 minutes" (an approval's time to live). */
export function durationWords(seconds: number): string {
  const [count, unit] =
    seconds >= 86400 && seconds % 86400 === 0
      ? [seconds / 86400, "day"]
      : seconds >= 3600 && seconds % 3600 === 0
        ? [seconds / 3600, "hour"]
        : seconds >= 120 && seconds % 60 === 0
          ? [seconds / 60, "minute"]
          : [seconds, "second"];
  return `${count} ${unit}${count === 1 ? "" : "s"}`;
}
