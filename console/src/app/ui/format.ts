/** How values look on the page: times in the reader's locale, unmeasured values in words. */

export const NOT_MEASURED = "not measured";

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A measured number with its unit, or "not measured" for null (never 0). */
export function measured(value: number | null | undefined, unit = "", digits = 1): string {
  if (value === null || value === undefined) return NOT_MEASURED;
  return `${value.toFixed(digits)}${unit}`;
}

/** A fraction 0..1 as a percentage, or "not measured". */
export function percent(value: number | null | undefined): string {
  if (value === null || value === undefined) return NOT_MEASURED;
  return `${(value * 100).toFixed(1)} %`;
}

export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** A count with its noun: countOf(1, "agent") is "1 agent", countOf(3, "agent") "3 agents". */
export function countOf(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
