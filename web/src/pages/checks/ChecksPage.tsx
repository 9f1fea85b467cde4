import { useEffect, useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Empty, Flex, Input, InputNumber, Segmented, Select, Space, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import { useUser } from '../../auth/session';
import { ErrorAlert, Loading, PageTitle } from '../../components/common';
import { NeedSchool } from '../../components/NeedSchool';
import { CODE_COLORS } from '../../format';
import { useSchool } from '../../layout/school';
import { shanghaiClock, shanghaiToday, type SymptomOption } from './shared';
import './checks.css';

type Session = 'morning' | 'noon';
type Reason = 'illness' | 'personal' | 'unknown';

interface CheckLine {
  personId: string;
  name: string;
  /** In school: passed the gate, or marked present in a class check of the day ('check'). */
  arrived: boolean;
  arrivedAt: number | null;
  arrivedBy: 'gate' | 'check' | null;
  gateTemperature: number | null;
  /** The code at the first pass, or the current code for a pupil not arrived. */
  codeColor: string;
  /** The code now; a green first pass may have turned yellow or red since. */
  currentCodeColor: string;
  hasOpenFollowUp: boolean;
  entry: StoredEntry | null;
  /** On the noon list while no noon entry is stored: the morning entry the noon check starts from. */
  morningEntry: StoredEntry | null;
}

interface StoredEntry {
  status: 'present' | 'absent';
  temperature: number | null;
  symptoms: string[];
  absenceReason: Reason | null;
  note: string | null;
  recordedByName: string;
}

interface ClassCheck {
  className: string;
  day: string;
  session: Session;
  symptoms: SymptomOption[];
  /** The day in the school calendar; `text` says why there is no school, and the check cannot be saved then. */
  schoolDay: { isSchoolDay: boolean; text: string | null };
  lines: CheckLine[];
  savedCount: number;
}

/** The head teacher's unsaved values for one pupil. */
interface Draft {
  status: 'present' | 'absent';
  temperature: number | null;
  symptoms: string[];
  absenceReason: Reason | null;
}

const REASONS: Array<{ value: Reason; label: string }> = [
  { value: 'illness', label: '因病' },
  { value: 'personal', label: '事假' },
  { value: 'unknown', label: '不明' },
];

/** Codes the gate rejects; a pupil with one of them marked present needs the school doctor. */
const GATE_REJECTED_CODES = new Set(['yellow', 'red']);

/**
 * Start from the stored entry. A noon line without one starts from the morning entry:
 * status, absence reason and symptoms, with the gate's reading for a present pupil,
 * because a temperature belongs to the session that took it. Otherwise start from the
 * day's presence. A pupil who passed the gate or was marked present in a class check of
 * the day starts present, with the gate's reading if any. Anyone else starts absent for
 * a reason not yet known.
 */
function draftOf(line: CheckLine): Draft {
  if (line.entry) return { status: line.entry.status, temperature: line.entry.temperature, symptoms: line.entry.symptoms, absenceReason: line.entry.absenceReason };
  const morning = line.morningEntry;
  if (morning) {
    return morning.status === 'present'
      ? { status: 'present', temperature: line.gateTemperature, symptoms: morning.symptoms, absenceReason: null }
      : { status: 'absent', temperature: null, symptoms: morning.symptoms, absenceReason: morning.absenceReason ?? 'unknown' };
  }
  return line.arrived
    ? { status: 'present', temperature: line.gateTemperature, symptoms: [], absenceReason: null }
    : { status: 'absent', temperature: null, symptoms: [], absenceReason: 'unknown' };
}

/** Describe the pupil's presence of the day: the gate's first pass, the class check that saw them, or 未入校. */
function arrivalText(line: CheckLine): string {
  if (!line.arrived) return '未入校';
  return `${shanghaiClock(line.arrivedAt!)} ${line.arrivedBy === 'check' ? '晨午检在校' : '入校'}`;
}

/** Warn that a pupil with a code the gate rejects is marked present, naming the pupil and the code. */
function codeWarningOf(line: CheckLine): string {
  const code = CODE_COLORS[line.currentCodeColor]?.label ?? line.currentCodeColor;
  return `${line.name} 当前为${code}，闸机不放行${code}学生，却标为在校。请核实并联系校医处理。`;
}

function useClassPick(schoolCode: string): { classId: string | null; picker: React.ReactNode } {
  const user = useUser();
  const [picked, setPicked] = useState<string | null>(() => localStorage.getItem('fangkong.class'));
  const classes = useQuery({
    queryKey: ['classes', schoolCode],
    queryFn: async () => (await api<{ items: Array<{ id: string; name: string }> }>(`/api/schools/${encodeURIComponent(schoolCode)}/classes`)).items,
    enabled: user.role !== 'head_teacher',
  });
  if (user.role === 'head_teacher') return { classId: user.classId, picker: null };
  const valid = classes.data?.some((c) => c.id === picked) ? picked : (classes.data?.[0]?.id ?? null);
  return {
    classId: valid,
    picker: (
      <Select
        aria-label="选择班级"
        style={{ width: 120 }}
        value={valid ?? undefined}
        showSearch={{ optionFilterProp: 'label' }}
        onChange={(value: string) => {
          localStorage.setItem('fangkong.class', value);
          setPicked(value);
        }}
        options={(classes.data ?? []).map((c) => ({ value: c.id, label: c.name }))}
      />
    ),
  };
}

/** Render one pupil: name and gate facts, present or absent, then the reason or the symptoms. */
function PupilRow({ line, draft, symptoms, onChange }: { line: CheckLine; draft: Draft; symptoms: SymptomOption[]; onChange(next: Draft): void }) {
  const [open, setOpen] = useState(draft.symptoms.length > 0);
  const code = CODE_COLORS[line.codeColor] ?? CODE_COLORS.unknown;
  const label = new Map(symptoms.map((s) => [s.code, s.label]));
  return (
    <div className="fk-check-row" data-testid={`check-row-${line.name}`}>
      <Flex justify="space-between" align="center" gap={8}>
        <div style={{ minWidth: 0 }}>
          <div className="fk-line-title">
            {line.name}
            {line.hasOpenFollowUp && (
              <Tag color="volcano" style={{ marginLeft: 6 }}>
                追踪中
              </Tag>
            )}
            {!line.entry && line.morningEntry && (
              <Tag color="blue" style={{ marginLeft: 6 }} data-testid="from-morning">
                沿用晨检
              </Tag>
            )}
          </div>
          <div className="fk-line-detail">
            {arrivalText(line)}
            {line.gateTemperature !== null && ` · ${line.gateTemperature.toFixed(1)}℃`}
            <Tag color={code.color} style={{ marginLeft: 6 }}>
              {code.label}
            </Tag>
          </div>
        </div>
        <Segmented
          size="small"
          value={draft.status}
          aria-label={`${line.name} 到校情况`}
          options={[
            { value: 'present', label: '在校' },
            { value: 'absent', label: '缺勤' },
          ]}
          onChange={(value) =>
            onChange(value === 'present' ? { ...draft, status: 'present', absenceReason: null } : { ...draft, status: 'absent', temperature: null, absenceReason: draft.absenceReason ?? 'unknown' })
          }
        />
      </Flex>
      <Flex wrap gap={6} align="center" style={{ marginTop: 6 }}>
        {draft.status === 'absent' ? (
          <Segmented size="small" aria-label={`${line.name} 缺勤原因`} value={draft.absenceReason ?? 'unknown'} options={REASONS} onChange={(value) => onChange({ ...draft, absenceReason: value as Reason })} />
        ) : (
          <InputNumber
            size="small"
            aria-label={`${line.name} 体温`}
            placeholder="体温"
            step={0.1}
            style={{ width: 84 }}
            value={draft.temperature}
            onChange={(value) => onChange({ ...draft, temperature: value === null ? null : Number(value) })}
          />
        )}
        {draft.symptoms.map((s) => (
          <Tag key={s} color="orange" style={{ margin: 0 }}>
            {label.get(s) ?? s}
          </Tag>
        ))}
        <Button size="small" type="link" onClick={() => setOpen(!open)} aria-expanded={open}>
          {open ? '收起症状' : '症状'}
        </Button>
      </Flex>
      {draft.status === 'present' && GATE_REJECTED_CODES.has(line.currentCodeColor) && (
        <Typography.Text type="danger" style={{ display: 'block', marginTop: 6 }} data-testid="code-warning">
          {codeWarningOf(line)}
        </Typography.Text>
      )}
      {open && (
        <Flex wrap gap={4} style={{ marginTop: 6 }}>
          {symptoms.map((s) => (
            <Tag.CheckableTag
              key={s.code}
              className="fk-symptom"
              checked={draft.symptoms.includes(s.code)}
              onChange={(checked) => onChange({ ...draft, symptoms: checked ? [...draft.symptoms, s.code] : draft.symptoms.filter((c) => c !== s.code) })}
            >
              {s.label}
            </Tag.CheckableTag>
          ))}
        </Flex>
      )}
    </div>
  );
}

/**
 * Render the head teacher's morning or noon check of their class, built for a phone. The
 * list arrives pre-filled from the gate, a tap marks absence, reason or symptoms, and one
 * button saves the class.
 */
export function ChecksPage() {
  const { school } = useSchool();
  if (!school) return <NeedSchool title="晨午检" />;
  return <ChecksOfSchool schoolCode={school.code} />;
}

function ChecksOfSchool({ schoolCode }: { schoolCode: string }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const { classId, picker } = useClassPick(schoolCode);
  const [session, setSession] = useState<Session>(() => (Number(shanghaiClock(Date.now()).slice(0, 2)) >= 12 ? 'noon' : 'morning'));
  const day = shanghaiToday();
  const [drafts, setDrafts] = useState<Map<string, Draft>>(new Map());
  const [filter, setFilter] = useState('');

  const check = useQuery({
    queryKey: ['class-check', schoolCode, classId, day, session],
    queryFn: () => api<ClassCheck>(`/api/schools/${encodeURIComponent(schoolCode)}/classes/${encodeURIComponent(classId!)}/checks?day=${day}&session=${session}`),
    enabled: classId !== null,
  });
  useEffect(() => setDrafts(new Map()), [check.data]);

  const save = useMutation({
    mutationFn: (entries: object[]) =>
      api<{ created: number; corrected: number; followUpsOpened: number; clusterAlertsRaised: number }>(
        `/api/schools/${encodeURIComponent(schoolCode)}/classes/${encodeURIComponent(classId!)}/checks`,
        { method: 'PUT', body: { day, session, entries } },
      ),
    onSuccess: (result) => {
      const parts = [`已保存（新增 ${result.created}，更正 ${result.corrected}）`];
      if (result.followUpsOpened > 0) parts.push(`新开缺勤追踪 ${result.followUpsOpened} 人`);
      if (result.clusterAlertsRaised > 0) parts.push('已触发聚集性预警，校医已收到通知');
      message.success(parts.join('；'));
      void client.invalidateQueries({ queryKey: ['class-check', schoolCode, classId] });
    },
  });

  const lines = check.data?.lines ?? [];
  const current = (line: CheckLine) => drafts.get(line.personId) ?? draftOf(line);
  const totals = useMemo(() => {
    let absent = 0;
    let ill = 0;
    let symptomatic = 0;
    for (const line of lines) {
      const draft = drafts.get(line.personId) ?? draftOf(line);
      if (draft.status === 'absent') absent += 1;
      if (draft.status === 'absent' && draft.absenceReason === 'illness') ill += 1;
      // A pupil with any symptom counts once, absent or present.
      if (draft.symptoms.length > 0) symptomatic += 1;
    }
    return { absent, ill, symptomatic };
  }, [lines, drafts]);
  const codeWarnings = lines.filter((line) => current(line).status === 'present' && GATE_REJECTED_CODES.has(line.currentCodeColor));

  if (!classId && !picker) return <Card>账号未关联班级，请联系管理员</Card>;
  const visibleLines = filter ? lines.filter((l) => l.name.includes(filter)) : lines;

  return (
    <div className="fk-phone-page" data-testid="checks-page">
      <PageTitle title={check.data ? `${check.data.className} 晨午检` : '晨午检'} extra={picker} />
      <Flex gap={8} align="center" wrap style={{ marginBottom: 8 }}>
        <Segmented
          aria-label="检查时段"
          value={session}
          onChange={(value) => setSession(value as Session)}
          options={[
            { value: 'morning', label: '晨检' },
            { value: 'noon', label: '午检' },
          ]}
        />
        <Typography.Text type="secondary">{day}</Typography.Text>
        {check.data && (
          <Typography.Text type="secondary" data-testid="check-saved">
            {check.data.savedCount === 0 ? '未保存' : `已保存 ${check.data.savedCount}/${lines.length}`}
          </Typography.Text>
        )}
      </Flex>
      {check.error && <ErrorAlert error={check.error} />}
      {save.error && <ErrorAlert error={save.error} />}
      {check.data && !check.data.schoolDay.isSchoolDay && (
        <Alert type="info" showIcon style={{ marginBottom: 8 }} data-testid="not-school-day" title={`${check.data.schoolDay.text}，无需晨午检`} />
      )}
      {check.isLoading ? (
        <Loading />
      ) : lines.length === 0 ? (
        <Card size="small">
          <Empty description="本班没有在读学生" />
        </Card>
      ) : (
        <Card size="small" styles={{ body: { paddingTop: 4, paddingBottom: 4 } }}>
          <Space size={12} wrap style={{ margin: '6px 0' }} data-testid="check-totals">
            <span>应到 {lines.length}</span>
            <span>缺勤 {totals.absent}</span>
            <span>因病 {totals.ill}</span>
            <span>有症状 {totals.symptomatic}</span>
          </Space>
          {lines.length > 15 && <Input size="small" allowClear placeholder="按姓名查找" value={filter} onChange={(e) => setFilter(e.target.value)} style={{ marginBottom: 4 }} />}
          {visibleLines.map((line) => (
            <PupilRow key={line.personId} line={line} draft={current(line)} symptoms={check.data!.symptoms} onChange={(next) => setDrafts(new Map(drafts).set(line.personId, next))} />
          ))}
        </Card>
      )}
      {lines.length > 0 && check.data?.schoolDay.isSchoolDay && (
        <div className="fk-sticky-actions">
          {codeWarnings.length > 0 && (
            <Alert
              type="warning"
              showIcon
              style={{ marginBottom: 8 }}
              data-testid="check-code-warnings"
              title={`${codeWarnings.map((line) => `${line.name}（${CODE_COLORS[line.currentCodeColor]?.label ?? line.currentCodeColor}）`).join('、')}标为在校，请联系校医`}
            />
          )}
          <Button
            type="primary"
            block
            size="large"
            loading={save.isPending}
            data-testid="check-save"
            onClick={() =>
              save.mutate(
                lines.map((line) => {
                  const draft = current(line);
                  return { personId: line.personId, status: draft.status, temperature: draft.temperature, symptoms: draft.symptoms, absenceReason: draft.absenceReason };
                }),
              )
            }
          >
            保存{session === 'morning' ? '晨检' : '午检'}（{lines.length} 人）
          </Button>
        </div>
      )}
    </div>
  );
}
