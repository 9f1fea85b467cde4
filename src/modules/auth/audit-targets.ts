import type { AppContext } from '../../context.js';
import { lookUpDisplayNames, type DisplayNameKeys, type DisplayNames } from '../people/service.js';

/**
 * Kind of record an audit target refers to, for the actions whose target the audit list
 * shows by name. Targets of other actions (usernames, URLs, days, and the ids of alerts,
 * visitors, venues and follow-ups) are shown as stored.
 */
type TargetKind = 'school' | 'school_day' | 'district' | 'person' | 'class' | 'device';

/**
 * Target kind by action. A 'school' target is the school code. Entries written before the
 * code became the rule may hold the school id instead, and both resolve. A 'school_day'
 * target is 'CODE:YYYY-MM-DD'. A 'device' target is the device id, named by the `name`
 * that its entry stores in `detail`.
 */
const TARGET_KINDS: Readonly<Record<string, TargetKind>> = {
  'persons.view': 'school',
  'roster.import': 'school',
  'roster.export': 'school',
  'roster.rejected_export': 'school',
  'healthcode.codes.view': 'school',
  'healthcode.sync.start': 'school',
  'healthcode.schedule.update': 'school',
  'dingtalk.test': 'school',
  'face.identify': 'school',
  'face.enrol_folder': 'school',
  'gate.settings.update': 'school',
  'gate.events.view': 'school',
  'gate.entry_windows.update': 'school',
  'notices.view': 'school',
  'checks.settings': 'school',
  'report.settings': 'school',
  'visitor.list.view': 'school',
  'visitor.search': 'school',
  'calendar.school.mark': 'school',
  'calendar.school.clear': 'school',
  'calendar.school.weekdays': 'school',
  'report.build': 'school_day',
  'report.submit': 'school_day',
  'report.export': 'school_day',
  'calendar.district.mark': 'district',
  'calendar.district.clear': 'district',
  'report.deadline': 'district',
  'healthcode.district_every_day.on': 'district',
  'healthcode.district_every_day.off': 'district',
  'person.view': 'person',
  'face.enrol': 'person',
  'face.delete': 'person',
  'consent.view': 'person',
  'consent.grant': 'person',
  'consent.revoke': 'person',
  'healthcode.history.view': 'person',
  'checks.save': 'class',
  'device.create': 'device',
  'device.rotate_key': 'device',
  'device.enable': 'device',
  'device.disable': 'device',
};

/** The part of an audit entry that its target label depends on. */
export interface AuditTargetSource {
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

/** Split a 'school_day' target such as 'S001:2026-12-07' at its last colon. */
function splitSchoolDay(target: string): { school: string; day: string } | undefined {
  const colon = target.lastIndexOf(':');
  if (colon <= 0) return undefined;
  return { school: target.slice(0, colon), day: target.slice(colon + 1) };
}

function collectKeys(entries: AuditTargetSource[]): DisplayNameKeys {
  const keys: Required<DisplayNameKeys> = { schools: [], districtIds: [], personIds: [], classIds: [] };
  for (const { action, target } of entries) {
    if (target === null) continue;
    const kind = TARGET_KINDS[action];
    if (kind === 'school') keys.schools.push(target);
    if (kind === 'school_day') keys.schools.push(splitSchoolDay(target)?.school ?? target);
    if (kind === 'district') keys.districtIds.push(target);
    if (kind === 'person') keys.personIds.push(target);
    if (kind === 'class') keys.classIds.push(target);
  }
  return keys;
}

/** Label one target from the names looked up, or return null to show it as stored. */
function labelOf(entry: AuditTargetSource, names: DisplayNames): string | null {
  const { action, target, detail } = entry;
  if (target === null) return null;

  switch (TARGET_KINDS[action]) {
    case 'school': {
      const school = names.schools.get(target);
      return school ? `${school.name}（${school.code}）` : null;
    }
    case 'school_day': {
      const parts = splitSchoolDay(target);
      const school = parts ? names.schools.get(parts.school) : undefined;
      return parts && school ? `${school.name}（${school.code}）· ${parts.day}` : null;
    }
    case 'district': {
      const district = names.districts.get(target);
      return district ? `${district.name}（${district.code}）` : null;
    }
    case 'person': {
      const person = names.persons.get(target);
      if (!person) return null;
      return person.className ? `${person.name}（${person.schoolName} · ${person.className}）` : `${person.name}（${person.schoolName}）`;
    }
    case 'class': {
      const klass = names.classes.get(target);
      return klass ? `${klass.schoolName} · ${klass.name}` : null;
    }
    case 'device':
      return typeof detail.name === 'string' && detail.name !== '' ? detail.name : null;
    case undefined:
      return null;
  }
}

/**
 * Label the target of each entry as a reader recognises it: a school as 名称（代码）
 * whether the entry stored its id or its code, a person by name, school and class, a
 * device by name. An entry whose target needs no label, or whose record no longer exists,
 * gets null and is shown as stored. Labels come back in the order of the entries.
 */
export async function labelAuditTargets(ctx: AppContext, entries: AuditTargetSource[]): Promise<Array<string | null>> {
  const names = await lookUpDisplayNames(ctx, collectKeys(entries));
  return entries.map((entry) => labelOf(entry, names));
}
