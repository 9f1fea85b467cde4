/**
 * The one place that knows the platform's time zone. Instants are epoch milliseconds in
 * UTC; every rule about days and schedules goes through these helpers.
 */
export const TIME_ZONE = 'Asia/Shanghai';

/** China has no daylight saving time, so the offset is fixed at UTC+8. */
const OFFSET_MS = 8 * 60 * 60 * 1000;

/** The calendar day ('YYYY-MM-DD') in Asia/Shanghai of an instant. */
export function schoolDay(instantMs: number): string {
  return new Date(instantMs + OFFSET_MS).toISOString().slice(0, 10);
}

/** Minutes since midnight in Asia/Shanghai of an instant (0 to 1439). */
export function minuteOfDay(instantMs: number): number {
  const local = new Date(instantMs + OFFSET_MS);
  return local.getUTCHours() * 60 + local.getUTCMinutes();
}

/** Day of week in Asia/Shanghai: 0 Sunday to 6 Saturday. */
export function weekday(instantMs: number): number {
  return new Date(instantMs + OFFSET_MS).getUTCDay();
}

/** The instant of a local time ('HH:MM') on a school day ('YYYY-MM-DD'). */
export function instantOf(day: string, time = '00:00'): number {
  const ms = Date.parse(`${day}T${time}:00+08:00`);
  if (Number.isNaN(ms)) throw new Error(`invalid day "${day}" or time "${time}"; expected YYYY-MM-DD and HH:MM`);
  return ms;
}

/** 'HH:MM' in Asia/Shanghai, for notices and screens. */
export function formatLocalTime(instantMs: number): string {
  return new Date(instantMs + OFFSET_MS).toISOString().slice(11, 16);
}

/** 'YYYY-MM-DD HH:MM' in Asia/Shanghai, for notices and exports. */
export function formatLocalDateTime(instantMs: number): string {
  const iso = new Date(instantMs + OFFSET_MS).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** Parse 'HH:MM' into minutes since midnight, or undefined when malformed. */
export function parseClock(text: string): number | undefined {
  const match = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * 60 + Number(match[2]);
}
