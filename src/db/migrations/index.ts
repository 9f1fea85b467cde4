import type { Migration } from 'kysely';
import * as foundation from './2026120401-foundation.js';
import * as healthcode from './2026120403-healthcode.js';
import * as notify from './2026120404-notify.js';
import * as face from './2026120405-face.js';
import * as gate from './2026120406-gate.js';
import * as auth from './2026120407-auth.js';
import * as venues from './2026120409-venues.js';
import * as appMeta from './2026120410-app-meta.js';
import * as reports from './2026120415-reports.js';
import * as visitors from './2026120413-visitors.js';
import * as checks from './2026120411-checks.js';
import * as alertNotes from './2026120418-alert-notes.js';
import * as consentRecorders from './2026120503-consent-recorders.js';
import * as schoolCalendar from './2026120501-school-calendar.js';
import * as syncEveryDay from './2026120530-sync-every-day.js';
import * as districtSettings from './2026120540-district-settings.js';
import * as usernameCase from './2026120550-username-case.js';
import * as reportUnsynced from './2026120560-report-unsynced.js';
import * as venueBusLines from './2026120570-venue-bus-lines.js';

/**
 * Every migration, by name. Names sort in the order they run; add new ones at the end
 * with a later prefix (YYYYMMDDNN) and never edit one that has shipped.
 */
export const migrations: Record<string, Migration> = {
  '2026120401-foundation': foundation,
  '2026120403-healthcode': healthcode,
  '2026120404-notify': notify,
  '2026120405-face': face,
  '2026120406-gate': gate,
  '2026120407-auth': auth,
  '2026120409-venues': venues,
  '2026120410-app-meta': appMeta,
  '2026120415-reports': reports,
  '2026120413-visitors': visitors,
  '2026120411-checks': checks,
  '2026120418-alert-notes': alertNotes,
  '2026120503-consent-recorders': consentRecorders,
  '2026120501-school-calendar': schoolCalendar,
  '2026120530-sync-every-day': syncEveryDay,
  '2026120540-district-settings': districtSettings,
  '2026120550-username-case': usernameCase,
  '2026120560-report-unsynced': reportUnsynced,
  '2026120570-venue-bus-lines': venueBusLines,
};
