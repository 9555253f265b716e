/**
 * A description list of an object's facts, each term with its value in a <div> of its own
 * (valid HTML, and what styles.css's dl.facts lays out as a grid that reflows on a phone).
 */
import type { ReactNode } from "react";

export function Facts({ children }: { children: ReactNode }) {
  return <dl className="facts">{children}</dl>;
}

export function Fact({ term, children }: { term: ReactNode; children: ReactNode }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}
