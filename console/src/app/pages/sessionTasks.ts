/**
 * The tasks each user enqueued from this tab, newest first: kept in sessionStorage (a reload
 * keeps them, another tab has its own) as the last snapshot seen of each, for the Tasks page
 * to follow above the list of all tasks, whichever page of it they fall on. Kept per user,
 * so that whoever signs in next in this tab does not see them.
 */
import { useCallback, useSyncExternalStore } from "react";

import type { TasksPageTaskFragment } from "../../gql/graphql";

type Task = TasksPageTaskFragment;
type Store = Readonly<Record<string, readonly Task[]>>;

const KEY = "kai.console.sessionTasks";
const MAX = 50;
const NONE: readonly Task[] = [];

let store: Store = load();
const listeners = new Set<() => void>();

function load(): Store {
  try {
    const stored: unknown = JSON.parse(window.sessionStorage.getItem(KEY) ?? "{}");
    if (!stored || typeof stored !== "object" || Array.isArray(stored)) return {};
    // Snapshots an older console kept lack fields the task card now shows: dropped.
    const current = (task: unknown) => typeof (task as Partial<Task> | null)?.runAt === "string";
    return Object.fromEntries(
      Object.entries(stored as Record<string, unknown>).map(([userId, tasks]) => [userId, Array.isArray(tasks) ? tasks.filter(current) : []]),
    ) as Store;
  } catch {
    return {};
  }
}

function save(userId: string, tasks: readonly Task[]): void {
  store = { ...store, [userId]: tasks };
  try {
    window.sessionStorage.setItem(KEY, JSON.stringify(store));
  } catch {
    // storage full or disabled: the list lasts as long as this page
  }
  for (const listener of [...listeners]) listener();
}

/** Adds a task just enqueued by `userId` (or replaces the one with its id), first. */
export function rememberTask(userId: string, task: Task): void {
  const tasks = store[userId] ?? NONE;
  save(userId, [task, ...tasks.filter((held) => held.id !== task.id)].slice(0, MAX));
}

/** Keeps a newer snapshot of a task already in `userId`'s list; others are ignored. */
export function updateTask(userId: string, task: Task): void {
  const tasks = store[userId] ?? NONE;
  const current = tasks.find((held) => held.id === task.id);
  if (!current || JSON.stringify(current) === JSON.stringify(task)) return;
  save(userId, tasks.map((held) => (held.id === task.id ? task : held)));
}

/** Empties `userId`'s list (the tasks themselves are untouched). */
export function forgetTasks(userId: string): void {
  save(userId, NONE);
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSessionTasks(userId: string | null): readonly Task[] {
  const snapshot = useCallback(() => (userId === null ? NONE : (store[userId] ?? NONE)), [userId]);
  return useSyncExternalStore(subscribe, snapshot);
}
