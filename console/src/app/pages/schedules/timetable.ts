/**
 * A schedule's times in words, and its time zone: a cron expression is read in an IANA zone
 * (Schedule.timezone), so its times are shown in that zone, with the zone's name; a one-off
 * time is entered as a wall time in the chosen zone and sent as an instant (with its offset).
 * The browser's Intl does the zone arithmetic: no library.
 */

/** The reader's own zone, the form's default ("UTC" when the browser does not say). */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

/** The IANA zones this browser knows, for the time zone field's suggestions. */
export function zoneNames(): string[] {
  const names = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return names.includes("UTC") ? names : ["UTC", ...names];
}

/** Whether this browser knows `zone` (the server has the last word). */
export function knownZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The wall time in `zone` at instant `ms`, as if it were UTC (milliseconds, whole seconds). */
function wallClock(ms: number, zone: string): number {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const part: Record<string, number> = {};
  for (const { type, value } of format.formatToParts(new Date(ms))) part[type] = Number(value);
  return Date.UTC(part.year ?? 1970, (part.month ?? 1) - 1, part.day ?? 1, part.hour ?? 0, part.minute ?? 0, part.second ?? 0);
}

/** A datetime-local value ("2026-12-06T09:00") read in `zone`, as an ISO instant; null when
 * it is not such a value. A wall time the clocks skip resolves to the instant after the jump. */
export function wallTimeToInstant(local: string, zone: string): string | null {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local);
  if (!found) return null;
  const [, y, mo, d, h, mi, s] = found.map(Number) as [number, number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, Number.isNaN(s) ? 0 : s);
  if (Number.isNaN(wall)) return null;
  // The zone's offset at a first guess, then again at the instant that guess gave (the two
  // differ across a daylight-saving change).
  let instant = wall - (wallClock(wall, zone) - wall);
  instant = wall - (wallClock(instant, zone) - instant);
  return new Date(instant).toISOString();
}

/** An instant as a datetime-local value in `zone` (for editing a one-off time). */
export function instantToWallTime(iso: string, zone: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  return new Date(wallClock(ms, zone)).toISOString().slice(0, 16);
}

/** An instant in `zone`, with the zone's short name ("6 Dec 2026, 09:00 CET"). */
export function formatIn(iso: string, zone: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const options: Intl.DateTimeFormatOptions = {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  };
  try {
    return date.toLocaleString(undefined, { ...options, timeZone: zone });
  } catch {
    return date.toLocaleString(undefined, options);
  }
}

type Timetable = { cron?: string | null; runAt?: string | null; timezone: string };

/** "0 9 * * 1-5 in Europe/Berlin", or "Once, 6 Dec 2026, 09:00 CET (Europe/Berlin)". */
export function timetableWords(schedule: Timetable): string {
  if (schedule.cron) return `${schedule.cron} in ${schedule.timezone}`;
  if (schedule.runAt) return `Once, ${formatIn(schedule.runAt, schedule.timezone)} (${schedule.timezone})`;
  return "No timetable";
}

type Due = Timetable & { active: boolean; nextRunAt?: string | null };

/** When it next runs, in its zone; why not, when it will not. */
export function nextRunWords(schedule: Due): string {
  if (!schedule.active) return "None: paused";
  if (schedule.nextRunAt) return formatIn(schedule.nextRunAt, schedule.timezone);
  return schedule.cron ? "None: it will not run again" : "None: it has run";
}

/** When it last ran, in its zone, or "never". */
export function lastRunWords(schedule: Timetable & { lastRunAt?: string | null }): string {
  return schedule.lastRunAt ? formatIn(schedule.lastRunAt, schedule.timezone) : "never";
}
