/**
 * A thread's history as the chat page holds it, and the messages in flight from this page,
 * as pure functions (useConversation.ts keeps them in React state).
 *
 * The history is the stored messages the page has read, oldest first by seq, without holes:
 * the newest page first, each "Load earlier" page before it, and every message stored since
 * (MESSAGE events, or the newest page read again). A newest page that shares no message with
 * what is held, while more come before it, may have left a hole: what was held is dropped for
 * it, and "Load earlier" reads it again.
 *
 * A message sent from this page (an `Exchange`) is shown as it goes: the question, then its
 * answer chunk by chunk. Once its question is stored the stored one is its (`claim`): the
 * first USER message of the same text stored after what the page held when it was sent, not
 * claimed by an earlier exchange; its answer is the message stored right after it, if that is
 * the agent's (a thread holds one run at a time: question, answer, question, answer). An
 * exchange whose stream has ended and whose answer is stored (or that failed) has `settled`:
 * the page drops it, and the stored messages show in its place.
 */
import type { CombinedError } from "urql";

import type { BusyPolicy } from "../../../gql/graphql";
import type { Message } from "./documents";

export type Page = {
  readonly edges: readonly { readonly cursor: string; readonly node: Message }[];
  readonly pageInfo: { readonly hasPreviousPage: boolean; readonly startCursor?: string | null };
};

export type History = {
  /** Oldest first. */
  readonly messages: readonly Message[];
  /** Where "Load earlier" reads before: the oldest held message's cursor. */
  readonly before: string | null;
  /** Whether messages older than those held are stored. */
  readonly earlier: boolean;
  /** Whether any page was read yet. */
  readonly read: boolean;
};

export const EMPTY: History = { messages: [], before: null, earlier: false, read: false };

function bySeq(messages: Iterable<Message>): Message[] {
  const unique = new Map<string, Message>();
  for (const message of messages) unique.set(message.id, message);
  return [...unique.values()].sort((a, b) => a.seq - b.seq);
}

/** The newest page (read first, or again) merged into what is held. */
export function withNewest(held: History, page: Page): History {
  const nodes = page.edges.map((edge) => edge.node);
  const known = new Set(held.messages.map((m) => m.id));
  const newestHeld = held.messages[held.messages.length - 1]?.seq ?? -1;
  const overlaps = nodes.some((node) => known.has(node.id));
  const first = nodes[0];
  // Nothing held yet, or a page after a possible hole: the page is where the history starts.
  if (!held.read || (first && !overlaps && page.pageInfo.hasPreviousPage && first.seq > newestHeld)) {
    return { messages: bySeq(nodes), before: page.pageInfo.startCursor ?? null, earlier: page.pageInfo.hasPreviousPage, read: true };
  }
  const oldestHeld = held.messages[0];
  const startsEarlier = first !== undefined && (oldestHeld === undefined || first.seq < oldestHeld.seq);
  return {
    messages: bySeq([...held.messages, ...nodes]),
    before: startsEarlier ? (page.pageInfo.startCursor ?? null) : held.before,
    earlier: startsEarlier ? page.pageInfo.hasPreviousPage : held.earlier,
    read: true,
  };
}

/** A page read before `held.before` ("Load earlier"), put in front. */
export function withEarlier(held: History, page: Page): History {
  const nodes = page.edges.map((edge) => edge.node);
  return {
    messages: bySeq([...nodes, ...held.messages]),
    before: page.pageInfo.startCursor ?? held.before,
    earlier: page.pageInfo.hasPreviousPage,
    read: true,
  };
}

/** One message stored since (a MESSAGE event). */
export function withMessage(held: History, message: Message): History {
  return { ...held, messages: bySeq([...held.messages, message]) };
}

export function newestSeq(held: History): number | null {
  return held.messages[held.messages.length - 1]?.seq ?? null;
}

/* ------------------------------------------------------------------ messages in flight */

export type ExchangeState =
  /** Sent; no chunk of its answer yet (it may wait for its turn). */
  | "sending"
  /** Its answer is coming. */
  | "answering"
  /** Its answer came to its end. */
  | "done"
  /** Stopped from this page: the server keeps what was said, marked interrupted. */
  | "stopped"
  /** Stopped from this page before any answer came (it may never have been stored). */
  | "withdrawn"
  /** Refused, or its answer failed. */
  | "failed";

export type Exchange = {
  readonly key: number;
  readonly content: string;
  readonly onBusy: BusyPolicy;
  /** The newest seq held when it was sent: its question is stored after it. */
  readonly after: number;
  readonly chunks: readonly string[];
  readonly state: ExchangeState;
  readonly error: CombinedError | null;
};

export type Claim = { readonly question?: Message; readonly answer?: Message };

/** Each exchange's stored question and answer, where they are held already. */
export function claims(messages: readonly Message[], exchanges: readonly Exchange[]): Map<number, Claim> {
  const taken = new Set<string>();
  const found = new Map<number, Claim>();
  for (const exchange of exchanges) {
    const at = messages.findIndex(
      (m) => m.seq > exchange.after && m.role === "USER" && m.content === exchange.content && !taken.has(m.id),
    );
    const question = messages[at];
    if (!question) {
      found.set(exchange.key, {});
      continue;
    }
    taken.add(question.id);
    const next = messages[at + 1];
    const answer = next && next.role === "ASSISTANT" && !taken.has(next.id) ? next : undefined;
    if (answer) taken.add(answer.id);
    found.set(exchange.key, { question, answer });
  }
  return found;
}

export function ended(exchange: Exchange): boolean {
  return exchange.state !== "sending" && exchange.state !== "answering";
}

/** Whether the page may drop the exchange: its stream ended and what is stored of it shows. */
export function settled(exchange: Exchange, claim: Claim | undefined): boolean {
  if (!ended(exchange)) return false;
  if (claim?.answer) return true;
  // Failed: its question is stored without an answer, or was never stored (refused);
  // withdrawn: whatever the server stored of it shows as it comes.
  return exchange.state === "failed" || exchange.state === "withdrawn";
}

/** The ids of the stored messages an exchange still shows (hidden from the history). */
export function shownByExchanges(exchanges: readonly Exchange[], found: Map<number, Claim>): Set<string> {
  const ids = new Set<string>();
  for (const exchange of exchanges) {
    const claim = found.get(exchange.key);
    if (settled(exchange, claim)) continue;
    if (claim?.question) ids.add(claim.question.id);
    if (claim?.answer) ids.add(claim.answer.id);
  }
  return ids;
}
