import type { AppContext } from '../../context.js';
import type { ClusterRule } from '../../db/schema.js';
import { AppError } from '../../shared/errors.js';
import { newId } from '../../shared/ids.js';
import { listSchoolDaysEndingOn } from '../calendar/service.js';
import { enqueueNotice } from '../notify/outbox.js';
import { getClassesByIds } from '../people/class-roster.js';
import { getContacts, getSchoolByIdOrThrow, listSchools, listStaffByRole } from '../people/service.js';
import { readCheckSettings, type CheckSettings } from './check-settings.js';
import { evaluateClusters, type ClusterFinding, type IllnessCase } from './cluster-rule.js';
import { diagnosisName } from './notifiable-diseases.js';
import * as store from './store.js';

/** How the rule reads on screens and in notices. */
export function describeRule(rule: ClusterRule, threshold: number, windowSchoolDays: number): string {
  return rule === 'same_day'
    ? `同一班级同一上课日内 ${threshold} 名及以上学生因病缺勤或出现相同症状（或相同诊断）`
    : `同一班级连续 ${windowSchoolDays} 个上课日内累计 ${threshold} 名及以上学生因病缺勤或出现相同症状（或相同诊断）`;
}

/**
 * Gather the illness cases of a class from `fromDay` to `toDay`: from the checks (absent
 * for illness, or present with symptoms; the sessions of a day are merged) and from the
 * follow-ups, whose symptoms and diagnosis join each day of their episode.
 */
async function gatherCases(ctx: AppContext, classId: string, fromDay: string, toDay: string): Promise<IllnessCase[]> {
  const checks = await store.listClassChecksBetween(ctx.db, classId, fromDay, toDay);
  const followUps = await store.listClassFollowUpsOverlapping(ctx.db, classId, fromDay, toDay);
  const byPersonDay = new Map<string, IllnessCase>();

  for (const check of checks) {
    const symptoms = JSON.parse(check.symptoms) as string[];
    const isAbsentIll = check.status === 'absent' && check.absence_reason === 'illness';
    if (!isAbsentIll && !(check.status === 'present' && symptoms.length > 0)) continue;
    const key = `${check.person_id}:${check.day}`;
    const existing = byPersonDay.get(key);
    if (existing) {
      existing.symptoms = [...new Set([...existing.symptoms, ...symptoms])];
      existing.absent = existing.absent || isAbsentIll;
    } else {
      byPersonDay.set(key, { personId: check.person_id, name: '', day: check.day, symptoms, diagnosis: null, absent: isAbsentIll });
    }
  }

  for (const item of byPersonDay.values()) {
    if (!item.absent) continue;
    const episode = followUps.find(
      (f) => f.person_id === item.personId && f.absence_began_on <= item.day && (f.certificate_issued_on === null || f.certificate_issued_on >= item.day),
    );
    if (!episode) continue;
    item.symptoms = [...new Set([...item.symptoms, ...(JSON.parse(episode.symptoms) as string[])])];
    item.diagnosis = episode.diagnosis;
  }

  const cases = [...byPersonDay.values()];
  if (cases.length > 0) {
    const names = await ctx.db.selectFrom('persons').select(['id', 'name']).where('id', 'in', [...new Set(cases.map((c) => c.personId))]).execute();
    const nameOf = new Map(names.map((n) => [n.id, n.name]));
    for (const item of cases) item.name = nameOf.get(item.personId) ?? '';
  }
  return cases;
}

/**
 * Evaluate the cluster rule for a class on a day and store what it finds. Each rule
 * raises once per class and window: a same-day finding is keyed by the day, and a
 * multi-day finding whose window overlaps an earlier alert of the same class extends that
 * alert instead of raising another. A new alert notifies the school doctors and the
 * management at once, in the same transaction. Returns the number of new alerts.
 *
 * NOTE: two saves of the same class evaluated at the same instant can both raise a
 * multi-day alert for windows with different first days; the dedupe key only stops
 * identical windows.
 */
export async function evaluateClassClusters(ctx: AppContext, schoolId: string, classId: string, day: string): Promise<number> {
  const school = await getSchoolByIdOrThrow(ctx, schoolId);
  const settings = readCheckSettings(school.settings);
  const windowDays = await listSchoolDaysEndingOn(ctx, school, day, settings.clusterWindowSchoolDays);
  const fromDay = windowDays[0] && windowDays[0] < day ? windowDays[0] : day;
  const cases = await gatherCases(ctx, classId, fromDay, day);
  const findings = evaluateClusters(day, windowDays, cases, { sameDayThreshold: settings.clusterSameDayThreshold, windowThreshold: settings.clusterWindowThreshold });

  let raised = 0;
  for (const finding of findings) {
    if (await storeFinding(ctx, school.id, classId, finding, settings)) raised += 1;
  }
  return raised;
}

function signsJson(finding: ClusterFinding, settings: CheckSettings): string {
  const labels = new Map(settings.symptoms.map((s) => [s.code, s.label]));
  return JSON.stringify(finding.signs.map((sign) => ({ ...sign, label: sign.kind === 'symptom' ? (labels.get(sign.code) ?? sign.code) : diagnosisName(sign.code) })));
}

async function storeFinding(ctx: AppContext, schoolId: string, classId: string, finding: ClusterFinding, settings: CheckSettings): Promise<boolean> {
  const now = ctx.now();
  const overlapping = finding.rule === 'school_days' ? await store.findOverlappingClusterAlert(ctx.db, classId, finding.rule, finding.windowStart) : undefined;
  const key = `cluster:${classId}:${finding.rule}:${finding.windowStart}:${finding.windowEnd}`;
  const existing = overlapping ?? (await ctx.db.selectFrom('cluster_alerts').selectAll().where('dedupe_key', '=', key).executeTakeFirst());

  if (existing) {
    const merged = mergeCases(JSON.parse(existing.cases) as IllnessCase[], finding.cases);
    const windowEnd = existing.window_end > finding.windowEnd ? existing.window_end : finding.windowEnd;
    const changes = { cases: JSON.stringify(merged), case_count: new Set(merged.map((c) => c.personId)).size, signs: signsJson(finding, settings), window_end: windowEnd };
    if (changes.cases !== existing.cases || changes.signs !== existing.signs || windowEnd !== existing.window_end) {
      await store.updateClusterAlert(ctx.db, existing.id, { ...changes, updated_at: now });
    }
    return false;
  }

  const id = newId(now);
  const klass = (await getClassesByIds(ctx, [classId])).get(classId);
  const className = klass?.name ?? '';
  const signs = JSON.parse(signsJson(finding, settings)) as Array<{ label: string; count: number }>;
  const title = `聚集性预警：${className} ${finding.pupilCount} 名学生${signs.map((s) => s.label).join('、')}`;
  const body = [
    `**${className}** 触发聚集性预警，请校医和学校管理层立即核实处置。`,
    '',
    `规则：${describeRule(finding.rule, finding.threshold, settings.clusterWindowSchoolDays)}`,
    `时间：${finding.windowStart === finding.windowEnd ? finding.windowStart : `${finding.windowStart} 至 ${finding.windowEnd}`}`,
    `相同症状或诊断：${signs.map((s) => `${s.label} ${s.count} 人`).join('，')}`,
    '',
    ...finding.cases.map((c, i) => `${i + 1}. ${c.name}（${c.day}，${c.absent ? '因病缺勤' : '在校有症状'}）`),
  ].join('\n');

  const recipients = [...(await listStaffByRole(ctx, schoolId, 'school_doctor')), ...(await listStaffByRole(ctx, schoolId, 'management'))];
  const contacts = await getContacts(ctx, recipients.map((r) => r.id));

  return ctx.db.transaction().execute(async (trx) => {
    const inserted = await store.insertClusterAlert(trx, {
      id,
      school_id: schoolId,
      class_id: classId,
      rule: finding.rule,
      threshold: finding.threshold,
      window_start: finding.windowStart,
      window_end: finding.windowEnd,
      case_count: finding.pupilCount,
      signs: signsJson(finding, settings),
      cases: JSON.stringify(finding.cases),
      status: 'open',
      dedupe_key: key,
      created_at: now,
      updated_at: now,
    });
    if (!inserted) return false;

    for (const recipient of recipients) {
      const person = contacts.get(recipient.id)?.person ?? recipient;
      await enqueueNotice(
        trx,
        {
          schoolId,
          channel: person.dingtalk_user_id ? 'dingtalk_work' : 'inbox',
          kind: 'cluster_alert',
          recipientPersonId: person.id,
          recipientDingtalkId: person.dingtalk_user_id,
          title,
          body,
          idempotencyKey: `${key}:${person.id}`,
        },
        now,
      );
    }
    // The school admin's inbox always gets a copy, so an alert reaches someone even at a school without a doctor on the roster.
    await enqueueNotice(trx, { schoolId, channel: 'inbox', kind: 'cluster_alert', recipientRole: 'school_admin', title, body, idempotencyKey: `${key}:school_admin` }, now);
    ctx.log.warn({ schoolId, classId, rule: finding.rule, windowStart: finding.windowStart, windowEnd: finding.windowEnd, cases: finding.pupilCount }, 'cluster alert raised');
    return true;
  });
}

function mergeCases(stored: IllnessCase[], found: IllnessCase[]): IllnessCase[] {
  const byKey = new Map(stored.map((c) => [`${c.personId}:${c.day}`, c]));
  for (const item of found) byKey.set(`${item.personId}:${item.day}`, item);
  return [...byKey.values()].sort((a, b) => a.day.localeCompare(b.day) || a.name.localeCompare(b.name, 'zh-CN'));
}

/** A cluster alert as the school, the district and the daily report read it. */
export interface ClusterAlertView {
  id: string;
  schoolId: string;
  schoolCode: string;
  schoolName: string;
  classId: string;
  className: string;
  rule: ClusterRule;
  /** The rule in words, with its thresholds. */
  ruleText: string;
  threshold: number;
  windowStart: string;
  windowEnd: string;
  caseCount: number;
  signs: Array<{ kind: 'symptom' | 'diagnosis'; code: string; label: string; count: number }>;
  /** The cases, each with its diagnosis's Chinese name. */
  cases: Array<IllnessCase & { diagnosisName: string | null }>;
  status: store.ClusterAlertRow['status'];
  createdAt: number;
  updatedAt: number;
}

/** Cluster alerts whose window ends between `from` and `to` ('YYYY-MM-DD', inclusive), newest first; every school when schoolId is absent. */
export async function listClusterAlerts(ctx: AppContext, filter: { schoolId?: string; from: string; to: string }): Promise<ClusterAlertView[]> {
  const rows = await store.listClusterAlerts(ctx.db, filter);
  const schools = new Map((await listSchools(ctx)).map((s) => [s.id, s]));
  const classes = await getClassesByIds(ctx, rows.map((r) => r.class_id));
  return rows.map((row) => {
    const school = schools.get(row.school_id);
    const settings = readCheckSettings(school?.settings);
    return {
      id: row.id,
      schoolId: row.school_id,
      schoolCode: school?.code ?? '',
      schoolName: school?.name ?? '',
      classId: row.class_id,
      className: classes.get(row.class_id)?.name ?? '',
      rule: row.rule,
      ruleText: describeRule(row.rule, row.threshold, settings.clusterWindowSchoolDays),
      threshold: row.threshold,
      windowStart: row.window_start,
      windowEnd: row.window_end,
      caseCount: row.case_count,
      signs: JSON.parse(row.signs) as ClusterAlertView['signs'],
      cases: (JSON.parse(row.cases) as IllnessCase[]).map((c) => ({ ...c, diagnosisName: c.diagnosis ? diagnosisName(c.diagnosis) : null })),
      status: row.status,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  });
}

/** Acknowledge a cluster alert or close it. */
export async function setClusterAlertStatus(ctx: AppContext, schoolId: string, id: string, status: 'acknowledged' | 'closed'): Promise<void> {
  const row = await store.findClusterAlertById(ctx.db, id);
  if (!row || row.school_id !== schoolId) throw new AppError('NOT_FOUND', { what: '聚集性预警', value: id });
  if (row.status === 'closed') throw new AppError('CONFLICT', { detail: '该聚集性预警已关闭' });
  await store.updateClusterAlert(ctx.db, id, { status, updated_at: ctx.now() });
}
