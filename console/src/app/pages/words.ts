/**
 * How the Tasks, Files and Admin pages put the API's values into words: task states, scan
 * statuses, roles, progress and JSON (sizes and instants: ../ui/format.ts).
 */
import type { Role, ScanStatus, TaskState } from "../../gql/graphql";

export const TASK_STATE_WORDS: Record<TaskState, string> = {
  AWAITING_APPROVAL: "Waiting for approval",
  PENDING: "Waiting to run",
  RUNNING: "Running",
  COMPLETED: "Completed",
  FAILED: "Failed",
  CANCELLED: "Cancelled",
};

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
]);

export const SCAN_WORDS: Record<ScanStatus, string> = {
  CLEAN: "Scanned, clean",
  SKIPPED: "Not scanned (no virus scanner on this server)",
};

export const ROLE_WORDS: Record<Role, string> = {
  USER: "User",
  DEVELOPER: "Developer",
  ADMIN: "Administrator",
};

export const ROLES: readonly Role[] = ["USER", "DEVELOPER", "ADMIN"];

/** 0..1 → "42 %"; null (nothing reported yet) → "not reported". */
export function formatProgress(progress: number | null | undefined): string {
  if (progress == null) return "no progress reported yet";
  return `${Math.round(Math.min(Math.max(progress, 0), 1) * 100)} %`;
}

/** A JSON value shown to a person: compact when short, indented when not. */
export function showJson(value: unknown): string {
  if (value === undefined) return "";
  const compact = JSON.stringify(value);
  if (compact === undefined) return String(value);
  return compact.length <= 80 ? compact : JSON.stringify(value, null, 2);
}
