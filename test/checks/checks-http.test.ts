import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import type { HttpApp } from '../../src/http.js';
import { sendUnknownAbsenceReminders } from '../../src/modules/checks/reminders.js';
import { listChecksForDay, listClusterAlerts, listOpenFollowUps } from '../../src/modules/checks/service.js';
import { getSchoolByIdOrThrow } from '../../src/modules/people/service.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS, createTestDb, type TestDb } from '../helpers/db.js';
import { bearer } from '../gate/helpers.js';
import { buildChecksWorld, createAccount, sessionHeaders } from './helpers.js';

// 2026-12-07 is a Monday.
const MONDAY = '2026-12-07';
const TUESDAY = '2026-12-08';
const WEDNESDAY = '2026-12-09';
const THURSDAY = '2026-12-10';
const FRIDAY = '2026-12-11';

describe.each(DIALECTS)('%s: checks API', (dialect) => {
  let t: TestDb;
  let app: HttpApp;
  let world: Awaited<ReturnType<typeof buildChecksWorld>>;
  let teacher: Record<string, string>;
  let doctor: Record<string, string>;
  let district: Record<string, string>;
  let accounts: { teacher: string; doctor: string; district: string };
  let sequence = 0;

  /** Move the clock and sign in again, because sessions end after 30 idle minutes. */
  const moveTo = async (day: string, time: string) => {
    t.setNow(instantOf(day, time));
    teacher = await sessionHeaders(t.ctx, accounts.teacher);
    doctor = await sessionHeaders(t.ctx, accounts.doctor);
    district = await sessionHeaders(t.ctx, accounts.district);
  };

  const pupil = (i: number) => world.pupils[i]!.person;
  const checksUrl = (classId = world.klass.id) => `/api/schools/${world.school.code}/classes/${classId}/checks`;
  const save = (headers: Record<string, string>, day: string, entries: object[], session = 'morning', classId?: string) =>
    app.inject({ method: 'PUT', url: checksUrl(classId), headers, payload: { day, session, entries } });
  const present = (i: number, extra: object = {}) => ({ personId: pupil(i).id, status: 'present', ...extra });
  const absent = (i: number, absenceReason: string, extra: object = {}) => ({ personId: pupil(i).id, status: 'absent', absenceReason, ...extra });
  const pass = (personId: string, temperature = 36.5) => {
    sequence += 1;
    return app.inject({
      method: 'POST',
      url: '/api/devices/events',
      headers: bearer(world.device),
      payload: { eventId: `chk-${sequence}`, occurredAt: t.ctx.now(), temperature, cardNumber: world.cards.get(personId) },
    });
  };
  const countOutbox = async (kind: string) => Number((await t.ctx.db.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('kind', '=', kind).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    t = await createTestDb(dialect);
    t.setNow(instantOf(MONDAY, '07:00'));
    world = await buildChecksWorld(t.ctx);
    app = await buildApp(t.ctx);
    accounts = {
      teacher: await createAccount(t.ctx, 'head_teacher', { schoolCode: world.school.code, className: world.klass.name }),
      doctor: await createAccount(t.ctx, 'school_doctor', { schoolCode: world.school.code }),
      district: await createAccount(t.ctx, 'district_admin'),
    };
  });
  afterAll(async () => {
    await app.close();
    await t.close();
  });

  it('pre-fills the list from the gate', async () => {
    await moveTo(MONDAY, '07:30');
    expect((await pass(pupil(0).id, 36.6)).json().decision).toBe('pass');

    const response = await app.inject({ method: 'GET', url: `${checksUrl()}?day=${MONDAY}&session=morning`, headers: teacher });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.className).toBe('二(3)班');
    expect(body.lines).toHaveLength(6);
    const first = body.lines.find((l: { personId: string }) => l.personId === pupil(0).id);
    expect(first).toMatchObject({ arrived: true, gateTemperature: 36.6, codeColor: 'green', entry: null });
    const second = body.lines.find((l: { personId: string }) => l.personId === pupil(1).id);
    expect(second).toMatchObject({ arrived: false, gateTemperature: null, codeColor: 'green' });
    expect(body.symptoms.map((s: { label: string }) => s.label)).toContain('结膜红肿');
  });

  it('keeps the entry and each correction', async () => {
    await moveTo(MONDAY, '08:30');
    const first = await save(teacher, MONDAY, [present(0, { temperature: 36.6 }), absent(1, 'unknown'), present(2), present(3), present(4), present(5)]);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ created: 6, corrected: 0, late: false });

    await moveTo(MONDAY, '10:30');
    const second = await save(teacher, MONDAY, [present(0, { temperature: 36.6 }), absent(1, 'personal', { note: '家长来电说明' }), present(2), present(3), present(4), present(5)]);
    expect(second.json()).toMatchObject({ created: 0, corrected: 1, unchanged: 5, late: true });

    const history = (await app.inject({ method: 'GET', url: `${checksUrl()}/history?day=${MONDAY}`, headers: teacher })).json().history;
    const ofPupil = history.filter((h: { personId: string }) => h.personId === pupil(1).id);
    expect(ofPupil.map((h: { action: string }) => h.action)).toEqual(['create', 'update']);
    expect(ofPupil[1].before).toEqual({ absenceReason: 'unknown', note: null });
    expect(ofPupil[1].after).toEqual({ absenceReason: 'personal', note: '家长来电说明' });
    expect(ofPupil[1].late).toBe(true);
    expect(ofPupil[1].changedByName).toMatch(/^测试head_teacher/);
    expect(ofPupil[1].changedAt).toBe(instantOf(MONDAY, '10:30'));

    const stored = await listChecksForDay(t.ctx, world.school.id, MONDAY);
    expect(stored.find((c) => c.personId === pupil(1).id)).toMatchObject({ version: 2, absenceReason: 'personal', arrived: false });
  });

  it('starts the noon list from the morning check', async () => {
    await moveTo(MONDAY, '12:10');
    const body = (await app.inject({ method: 'GET', url: `${checksUrl()}?day=${MONDAY}&session=noon`, headers: teacher })).json();
    const line = (i: number) => body.lines.find((l: { personId: string }) => l.personId === pupil(i).id);
    // Pupil 0 passed the gate at 07:30, pupil 2 only the morning check (saved 08:30), pupil 1 was absent.
    expect(line(0)).toMatchObject({ arrived: true, arrivedBy: 'gate', arrivedAt: instantOf(MONDAY, '07:30'), gateTemperature: 36.6, entry: null });
    expect(line(2)).toMatchObject({ arrived: true, arrivedBy: 'check', arrivedAt: instantOf(MONDAY, '08:30'), gateTemperature: null, entry: null });
    expect(line(1)).toMatchObject({ arrived: false, arrivedBy: null, arrivedAt: null, entry: null });
    // Each noon line without a noon entry carries the pupil's morning entry.
    expect(line(0).morningEntry).toMatchObject({ status: 'present', temperature: 36.6, symptoms: [], absenceReason: null });
    expect(line(1).morningEntry).toMatchObject({ status: 'absent', absenceReason: 'personal', note: '家长来电说明' });
    expect(line(2).morningEntry).toMatchObject({ status: 'present', absenceReason: null });
    const morningList = (await app.inject({ method: 'GET', url: `${checksUrl()}?day=${MONDAY}&session=morning`, headers: teacher })).json();
    expect(morningList.lines.every((l: { morningEntry: unknown }) => l.morningEntry === null)).toBe(true);

    const attendance = (await app.inject({ method: 'GET', url: `/api/schools/${world.school.code}/attendance?day=${MONDAY}`, headers: teacher })).json();
    const arrivedIds = attendance.classes.flatMap((c: { arrived: Array<{ personId: string }> }) => c.arrived.map((a) => a.personId)).sort();
    const inSchoolIds = body.lines.filter((l: { arrived: boolean }) => l.arrived).map((l: { personId: string }) => l.personId).sort();
    expect(inSchoolIds).toEqual(arrivedIds);
  });

  it('rejects bad input naming the field and value', async () => {
    const cases: Array<[object, string]> = [
      [present(0, { temperature: 3.7 }), '体温“3.7”不在 34.0-43.0 ℃ 之间'],
      [present(0, { temperature: 373 }), '体温“373”不在 34.0-43.0 ℃ 之间'],
      [{ personId: world.other.person.id, status: 'present' }, `编号为 ${world.other.person.id} 的人员不在本班在读名单中`],
    ];
    for (const [entry, message] of cases) {
      const response = await save(teacher, MONDAY, [present(2, { temperature: 36.4 }), entry]);
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toContain(message);
    }
    const future = await save(teacher, TUESDAY, [present(0)]);
    expect(future.statusCode).toBe(400);
    expect(future.json().message).toContain(`日期“${TUESDAY}”晚于今天（${MONDAY}）`);

    // The valid entry of a rejected request was not written either.
    const stored = await listChecksForDay(t.ctx, world.school.id, MONDAY);
    expect(stored.find((c) => c.personId === pupil(2).id)?.temperature).toBeNull();
  });

  it('keeps a head teacher to their own class', async () => {
    const otherClass = world.other.klass.id;
    expect((await app.inject({ method: 'GET', url: `${checksUrl(otherClass)}?day=${MONDAY}`, headers: teacher })).statusCode).toBe(403);
    const write = await save(teacher, MONDAY, [{ personId: world.other.person.id, status: 'present' }], 'morning', otherClass);
    expect(write.statusCode).toBe(403);
    expect(write.json().message).toContain('班主任只能查看和操作本班的数据');
    expect((await save(doctor, MONDAY, [{ personId: world.other.person.id, status: 'present' }], 'morning', otherClass)).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: `${checksUrl()}?day=${MONDAY}`, headers: district })).statusCode).toBe(200);
  });

  it('follows an illness absence until the certificate', async () => {
    await moveTo(MONDAY, '12:40');
    const noon = await save(teacher, MONDAY, [absent(2, 'illness', { symptoms: ['fever', 'cough'] })], 'noon');
    expect(noon.json()).toMatchObject({ created: 1, followUpsOpened: 1 });
    // The same episode on the next day joins the open follow-up.
    await moveTo(TUESDAY, '07:00');
    const tuesday = await save(teacher, TUESDAY, [absent(2, 'illness', { symptoms: ['fever'] })]);
    expect(tuesday.json()).toMatchObject({ created: 1, followUpsOpened: 0 });
    const open = await listOpenFollowUps(t.ctx, world.school.id);
    expect(open).toHaveLength(1);
    const followUp = open[0]!;
    expect(followUp).toMatchObject({ personId: pupil(2).id, absenceBeganOn: MONDAY, symptoms: ['fever', 'cough'] });
    const base = `/api/schools/${world.school.code}/follow-ups/${followUp.id}`;

    await moveTo(TUESDAY, '08:00');
    const contact = await app.inject({ method: 'POST', url: `${base}/contacts`, headers: teacher, payload: { result: 'reached', note: '家长称已就医' } });
    expect(contact.statusCode).toBe(200);
    const patched = await app.inject({ method: 'PATCH', url: base, headers: teacher, payload: { sawDoctor: true, diagnosis: 'influenza', expectedReturnOn: WEDNESDAY } });
    expect(patched.json().followUp).toMatchObject({ sawDoctor: true, diagnosis: 'influenza', expectedReturnOn: WEDNESDAY });
    const badDiagnosis = await app.inject({ method: 'PATCH', url: base, headers: teacher, payload: { diagnosis: 'flu' } });
    expect(badDiagnosis.json().message).toContain('诊断“flu”不在传染病诊断列表中');

    // Back at the gate on Wednesday without a certificate: refused with the reason.
    await moveTo(WEDNESDAY, '07:20');
    const refused = (await pass(pupil(2).id)).json();
    expect(refused).toMatchObject({ decision: 'deny', reason: 'return_certificate_missing' });
    expect(refused.prompt).toContain('复课证明');
    // A terminal replaying the Friday before the absence began is not held for it.
    const replayed = await app.inject({
      method: 'POST',
      url: '/api/devices/events',
      headers: bearer(world.device),
      payload: { eventId: 'chk-replayed-friday', occurredAt: instantOf('2026-12-04', '07:30'), temperature: 36.5, cardNumber: world.cards.get(pupil(2).id) },
    });
    expect(replayed.json().reason).not.toBe('return_certificate_missing');

    const byTeacher = await app.inject({ method: 'POST', url: `${base}/certificate`, headers: teacher, payload: { issuedOn: WEDNESDAY } });
    expect(byTeacher.statusCode).toBe(403);
    const early = await app.inject({ method: 'POST', url: `${base}/certificate`, headers: doctor, payload: { issuedOn: '2026-12-06' } });
    expect(early.statusCode).toBe(400);
    expect(early.json().message).toContain(`复课证明开具日期“2026-12-06”早于缺勤开始日期 ${MONDAY}`);
    const future = await app.inject({ method: 'POST', url: `${base}/certificate`, headers: doctor, payload: { issuedOn: THURSDAY } });
    expect(future.json().message).toContain(`“${THURSDAY}”晚于今天`);

    const recorded = await app.inject({ method: 'POST', url: `${base}/certificate`, headers: doctor, payload: { issuedOn: TUESDAY, issuer: '区人民医院' } });
    expect(recorded.statusCode).toBe(200);
    expect(recorded.json().followUp).toMatchObject({ status: 'closed', certificate: { issuedOn: TUESDAY, issuer: '区人民医院' } });
    expect((await pass(pupil(2).id)).json().decision).toBe('pass');

    const detail = (await app.inject({ method: 'GET', url: base, headers: doctor })).json();
    expect(detail.history.map((h: { action: string }) => h.action)).toEqual(['open', 'contact', 'update', 'certificate']);
    expect(detail.followUp.contacts[0]).toMatchObject({ result: 'reached', note: '家长称已就医' });
  });

  it('cancels a follow-up when the absence is corrected away', async () => {
    await moveTo(WEDNESDAY, '08:00');
    expect((await save(teacher, WEDNESDAY, [absent(5, 'illness')])).json().followUpsOpened).toBe(1);
    expect((await save(teacher, WEDNESDAY, [absent(5, 'personal')])).json().followUpsCancelled).toBe(1);
    expect((await listOpenFollowUps(t.ctx, world.school.id)).map((f) => f.personId)).not.toContain(pupil(5).id);
  });

  it('raises a cluster alert at three similar cases, once', async () => {
    await moveTo(WEDNESDAY, '08:10');
    const two = await save(teacher, WEDNESDAY, [absent(0, 'illness', { symptoms: ['cough'] }), absent(1, 'illness', { symptoms: ['cough', 'fever'] })]);
    expect(two.json().clusterAlertsRaised).toBe(0);
    expect(await countOutbox('cluster_alert')).toBe(0);

    const three = await save(teacher, WEDNESDAY, [present(3, { symptoms: ['cough'] })]);
    expect(three.json().clusterAlertsRaised).toBe(1);
    // The doctor, the manager and the school admin's inbox.
    expect(await countOutbox('cluster_alert')).toBe(3);

    const again = await save(teacher, WEDNESDAY, [present(3, { symptoms: ['cough', 'sore_throat'] })]);
    expect(again.json().clusterAlertsRaised).toBe(0);
    expect(await countOutbox('cluster_alert')).toBe(3);

    const alerts = await listClusterAlerts(t.ctx, { schoolId: world.school.id, from: WEDNESDAY, to: WEDNESDAY });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ rule: 'same_day', caseCount: 3, className: '二(3)班', signs: [{ code: 'cough', label: '咳嗽', count: 3 }] });

    const forDistrict = (await app.inject({ method: 'GET', url: `/api/cluster-alerts?from=${MONDAY}&to=${WEDNESDAY}`, headers: district })).json();
    expect(forDistrict.alerts.map((a: { id: string }) => a.id)).toEqual([alerts[0]!.id]);
    expect(forDistrict.alerts[0].ruleText).toContain('3 名及以上');
    expect(forDistrict.alerts[0].cases).toHaveLength(3);
    const forDoctor = (await app.inject({ method: 'GET', url: '/api/cluster-alerts', headers: doctor })).json();
    expect(forDoctor.alerts).toHaveLength(1);
  });

  it('reminds of unknown absences once at the set time', async () => {
    await moveTo(THURSDAY, '08:20');
    await save(teacher, THURSDAY, [absent(4, 'unknown')]);
    const school = await getSchoolByIdOrThrow(t.ctx, world.school.id);

    await moveTo(THURSDAY, '08:59');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(0);
    await moveTo(THURSDAY, '09:00');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(1);
    // A rerun, as after a crash, and the next minute's tick queue nothing more.
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(0);
    await moveTo(THURSDAY, '09:01');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(0);

    const notices = await t.ctx.db.selectFrom('outbox').selectAll().where('kind', '=', 'unknown_absence').execute();
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ recipient_person_id: world.headTeacher.id, channel: 'dingtalk_work' });
    expect(notices[0]!.body).toContain(pupil(4).name);
  });

  it('carries morning illness absences to noon once', async () => {
    await moveTo(FRIDAY, '08:00');
    const morning = await save(teacher, FRIDAY, [
      absent(3, 'illness', { symptoms: ['fever'] }),
      absent(4, 'illness', { symptoms: ['cough'] }),
      absent(5, 'unknown'),
      present(0),
      present(1),
      present(2),
    ]);
    expect(morning.json()).toMatchObject({ created: 6, followUpsOpened: 2, clusterAlertsRaised: 0 });
    // Pupil 5 arrives late, after the morning check was saved.
    await moveTo(FRIDAY, '09:30');
    expect((await pass(pupil(5).id)).json().decision).toBe('pass');

    await moveTo(FRIDAY, '12:10');
    const noon = (await app.inject({ method: 'GET', url: `${checksUrl()}?day=${FRIDAY}&session=noon`, headers: teacher })).json();
    const line = (i: number) => noon.lines.find((l: { personId: string }) => l.personId === pupil(i).id);
    expect(noon.savedCount).toBe(0);
    expect(line(3)).toMatchObject({ entry: null, morningEntry: { status: 'absent', absenceReason: 'illness', symptoms: ['fever'] } });
    expect(line(4)).toMatchObject({ entry: null, morningEntry: { status: 'absent', absenceReason: 'illness', symptoms: ['cough'] } });
    // The gate pass after the morning check is newer than its absence, so noon starts from the gate.
    expect(line(5)).toMatchObject({ arrived: true, arrivedBy: 'gate', morningEntry: null });

    // Saving the noon check as carried records the morning's values and opens nothing twice.
    const entries = [3, 4, 0, 1, 2].map((i) => {
      const carried = line(i).morningEntry;
      return { personId: pupil(i).id, status: carried.status, symptoms: carried.symptoms, absenceReason: carried.absenceReason };
    });
    const saved = await save(teacher, FRIDAY, entries, 'noon');
    expect(saved.statusCode).toBe(200);
    expect(saved.json()).toMatchObject({ created: 5, followUpsOpened: 0, clusterAlertsRaised: 0 });

    const stored = (await listChecksForDay(t.ctx, world.school.id, FRIDAY)).filter((c) => c.session === 'noon');
    expect(stored.find((c) => c.personId === pupil(3).id)).toMatchObject({ status: 'absent', absenceReason: 'illness', symptoms: ['fever'] });
    expect(stored.find((c) => c.personId === pupil(4).id)).toMatchObject({ status: 'absent', absenceReason: 'illness', symptoms: ['cough'] });
    const open = (await listOpenFollowUps(t.ctx, world.school.id)).filter((f) => f.personId === pupil(3).id || f.personId === pupil(4).id);
    expect(open).toHaveLength(2);
    expect(open.every((f) => f.absenceBeganOn === FRIDAY)).toBe(true);
    // Two pupils in two sessions are still two cases, below the same-day threshold of three.
    const alerts = await listClusterAlerts(t.ctx, { schoolId: world.school.id, from: FRIDAY, to: FRIDAY });
    expect(alerts.filter((a) => a.rule === 'same_day')).toEqual([]);

    const after = (await app.inject({ method: 'GET', url: `${checksUrl()}?day=${FRIDAY}&session=noon`, headers: teacher })).json();
    const savedLine = after.lines.find((l: { personId: string }) => l.personId === pupil(3).id);
    expect(savedLine.entry).toMatchObject({ status: 'absent', absenceReason: 'illness' });
    expect(savedLine.morningEntry).toBeNull();
  });

  it('rejects a check on a weekend and sends no reminder', async () => {
    await moveTo('2026-12-12', '09:00');
    const school = await getSchoolByIdOrThrow(t.ctx, world.school.id);
    const saturday = await save(teacher, '2026-12-12', [absent(4, 'unknown')]);
    expect(saturday.statusCode).toBe(400);
    expect(saturday.json().message).toContain('2026-12-12 是周六，不是上学日，不能登记晨午检');
    expect(await sendUnknownAbsenceReminders(t.ctx, school)).toBe(0);
  });
});
