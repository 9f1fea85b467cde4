/**
 * Per-school settings stored as JSON on the school row. Every field has a default, so a
 * school created with `{}` works; readers always go through `parseSchoolSettings`.
 */
export interface SchoolSettings {
  /** Cron expressions (Asia/Shanghai) for full health-code syncs. */
  syncCrons: string[];
  /** Polling during school hours, every `everyMinutes` from `from` to `to` ('HH:MM'). */
  polling: { enabled: boolean; everyMinutes: number; from: string; to: string };
  /**
   * Run the scheduled syncs (crons and polling) every day. When false they run only for
   * the school days of the school calendar, as an outbreak may require otherwise.
   */
  syncEveryDay: boolean;
  /** Start of the school day, 'HH:MM'; arrivals after it are late. */
  dayStartsAt: string;
  /** When the pre-school window for "do not come today" notices ends, 'HH:MM'. */
  stayHomeNoticeUntil: string;
  /** When the evening run opens the stay-home window, 'HH:MM'. */
  stayHomeNoticeFrom: string;
  /**
   * A code not refreshed for this many hours is stale at this school; null means the
   * installation's FANGKONG_CODE_STALE_MINUTES.
   */
  codeStaleHours: number | null;
}

export const DEFAULT_SCHOOL_SETTINGS: SchoolSettings = {
  syncCrons: ['30 4 * * *'],
  polling: { enabled: true, everyMinutes: 30, from: '07:00', to: '17:00' },
  syncEveryDay: false,
  dayStartsAt: '08:00',
  stayHomeNoticeFrom: '18:00',
  stayHomeNoticeUntil: '08:00',
  codeStaleHours: null,
};

/** Bounds of `codeStaleHours`: from one hour to a week. */
export const CODE_STALE_HOURS_RANGE = { min: 1, max: 168 } as const;

/**
 * Minutes after which a code is stale at a school: its own `codeStaleHours` when set and
 * within bounds, else `fallbackMinutes` (the installation's setting).
 */
export function codeStaleMinutesOf(settings: Pick<SchoolSettings, 'codeStaleHours'>, fallbackMinutes: number): number {
  const hours = settings.codeStaleHours;
  const isValid = typeof hours === 'number' && Number.isInteger(hours) && hours >= CODE_STALE_HOURS_RANGE.min && hours <= CODE_STALE_HOURS_RANGE.max;
  return isValid ? hours * 60 : fallbackMinutes;
}

/** Presets a school picks from; any cron list is allowed besides. */
export const SYNC_PRESETS: Record<string, string[]> = {
  'daily-0430': ['30 4 * * *'],
  'evening-2100-morning-0630': ['0 21 * * *', '30 6 * * *'],
};

export function parseSchoolSettings(json: string | null | undefined): SchoolSettings {
  let stored: Partial<SchoolSettings> = {};
  try {
    stored = json ? (JSON.parse(json) as Partial<SchoolSettings>) : {};
  } catch {
    stored = {};
  }
  return {
    ...DEFAULT_SCHOOL_SETTINGS,
    ...stored,
    polling: { ...DEFAULT_SCHOOL_SETTINGS.polling, ...(stored.polling ?? {}) },
  };
}
