import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Calendar, Card, Checkbox, DatePicker, Empty, Flex, Form, Input, Popconfirm, Radio, Space, Table, Tag, Typography } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../../api/client';
import { useUser } from '../../auth/session';
import { ErrorAlert, Loading } from '../../components/common';
import { todayInShanghai } from '../../format';
import { useSchool } from '../../layout/school';

/** GET /api/schools/:code/calendar: one decided day. */
interface SchoolDay {
  day: string;
  weekday: number;
  isSchoolDay: boolean;
  source: 'school' | 'district' | 'weekday';
  reason: string;
  label: string;
}

/** An entry the district or the school set. */
interface CalendarEntry {
  day: string;
  isSchoolDay: boolean;
  reason: string;
  updatedAt: number;
  updatedByName: string;
}

interface SchoolCalendarView {
  schoolCode: string;
  schoolName: string;
  weekdays: number[];
  days: SchoolDay[];
  districtEntries: CalendarEntry[];
  schoolEntries: CalendarEntry[];
}

interface MarkValues {
  range: [Dayjs, Dayjs];
  isSchoolDay: boolean;
  reason: string;
}

const WEEKDAYS = ['周日', '周一', '周二', '周三', '周四', '周五', '周六'];
const WEEKDAY_OPTIONS = [1, 2, 3, 4, 5, 6, 0].map((value) => ({ value, label: WEEKDAYS[value] }));
const CALENDAR_KEY = ['calendar'];

/** Entries are listed from a month back to a year ahead, within the 366 days one request may read. */
function entrySpan(): { from: string; to: string } {
  const from = dayjs(todayInShanghai()).subtract(1, 'month');
  return { from: from.format('YYYY-MM-DD'), to: from.add(365, 'day').format('YYYY-MM-DD') };
}

function weekdayOf(day: string): string {
  return WEEKDAYS[dayjs(day).day()];
}

/** Entries with the same kind and reason on consecutive days, shown as one row: 10-01 至 10-07. */
interface EntryGroup {
  key: string;
  from: string;
  to: string;
  isSchoolDay: boolean;
  reason: string;
  updatedByName: string;
}

function groupEntries(entries: CalendarEntry[]): EntryGroup[] {
  const groups: EntryGroup[] = [];
  for (const entry of entries) {
    const last = groups.at(-1);
    const isNext = last && dayjs(last.to).add(1, 'day').format('YYYY-MM-DD') === entry.day;
    if (last && isNext && last.isSchoolDay === entry.isSchoolDay && last.reason === entry.reason) {
      last.to = entry.day;
      continue;
    }
    groups.push({ key: entry.day, from: entry.day, to: entry.day, isSchoolDay: entry.isSchoolDay, reason: entry.reason, updatedByName: entry.updatedByName });
  }
  return groups;
}

function spanText(group: EntryGroup): string {
  if (group.from === group.to) return `${group.from}（${weekdayOf(group.from)}）`;
  return `${group.from}（${weekdayOf(group.from)}）至 ${group.to}（${weekdayOf(group.to)}），${dayjs(group.to).diff(dayjs(group.from), 'day') + 1} 天`;
}

/**
 * Show one scope's entries with a form to add more: the district's holidays and make-up
 * days, or a school's closures and extra school days. `labels` names the two kinds.
 */
function EntryEditor(props: {
  title: string;
  testId: string;
  entries: CalendarEntry[];
  labels: { off: string; on: string };
  placeholder: string;
  editable: boolean;
  url: string;
  extra?: string;
}) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<MarkValues>();
  const mark = useMutation({
    mutationFn: (values: MarkValues) =>
      api<{ marked: number }>(props.url, {
        method: 'POST',
        body: { from: values.range[0].format('YYYY-MM-DD'), to: values.range[1].format('YYYY-MM-DD'), isSchoolDay: values.isSchoolDay, reason: values.reason },
      }),
    onSuccess: (reply) => {
      message.success(`已设置 ${reply.marked} 天`);
      form.resetFields(['range', 'reason']);
      void client.invalidateQueries({ queryKey: CALENDAR_KEY });
    },
  });
  const clear = useMutation({
    mutationFn: (group: EntryGroup) => api<{ removed: number }>(`${props.url}?from=${group.from}&to=${group.to}`, { method: 'DELETE' }),
    onSuccess: (reply) => {
      message.success(`已删除 ${reply.removed} 天的设置`);
      void client.invalidateQueries({ queryKey: CALENDAR_KEY });
    },
  });

  return (
    <Card title={props.title} data-testid={props.testId} style={{ marginBottom: 16 }}>
      {props.extra && <Typography.Paragraph type="secondary">{props.extra}</Typography.Paragraph>}
      {(mark.error || clear.error) && <ErrorAlert error={mark.error ?? clear.error} />}
      {props.editable && (
        <Form<MarkValues> form={form} layout="inline" initialValues={{ isSchoolDay: false }} onFinish={(values) => mark.mutate(values)} style={{ rowGap: 12, marginBottom: 16 }}>
          <Form.Item name="range" rules={[{ required: true, message: '请选择日期' }]}>
            <DatePicker.RangePicker aria-label="日期范围" placeholder={['开始日期', '结束日期']} />
          </Form.Item>
          <Form.Item name="isSchoolDay">
            <Radio.Group
              optionType="button"
              options={[
                { value: false, label: props.labels.off },
                { value: true, label: props.labels.on },
              ]}
            />
          </Form.Item>
          <Form.Item name="reason" rules={[{ required: true, whitespace: true, message: '请填写原因' }]}>
            <Input aria-label="原因" placeholder={props.placeholder} maxLength={30} style={{ width: 200 }} />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={mark.isPending}>
            添加
          </Button>
        </Form>
      )}
      <Table<EntryGroup>
        rowKey="key"
        size="small"
        pagination={false}
        dataSource={groupEntries(props.entries)}
        locale={{ emptyText: '近一年没有设置' }}
        scroll={{ x: 560 }}
        columns={[
          { title: '日期', key: 'span', width: 220, render: (_, group) => spanText(group) },
          { title: '类型', key: 'kind', width: 110, render: (_, group) => (group.isSchoolDay ? <Tag color="blue">{props.labels.on}</Tag> : <Tag color="orange">{props.labels.off}</Tag>) },
          { title: '原因', dataIndex: 'reason', width: 160 },
          { title: '设置人', dataIndex: 'updatedByName', width: 130 },
          ...(props.editable
            ? [
                {
                  title: '',
                  key: 'actions',
                  width: 80,
                  render: (_: unknown, group: EntryGroup) => (
                    <Popconfirm title={`删除 ${spanText(group)} 的设置？`} okText="删除" cancelText="取消" onConfirm={() => clear.mutate(group)}>
                      <Button size="small" danger aria-label={`删除 ${group.from} 的设置`}>
                        删除
                      </Button>
                    </Popconfirm>
                  ),
                },
              ]
            : []),
        ]}
      />
    </Card>
  );
}

/** Show the school's days of the week with school, with a save button for those who may edit. */
function WeekdaysEditor({ schoolCode, weekdays, editable }: { schoolCode: string; weekdays: number[]; editable: boolean }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [value, setValue] = useState<number[]>(weekdays);
  useEffect(() => setValue(weekdays), [weekdays]);
  const save = useMutation({
    mutationFn: () => api<{ weekdays: number[] }>(`/api/schools/${encodeURIComponent(schoolCode)}/calendar/weekdays`, { method: 'PUT', body: { weekdays: value } }),
    onSuccess: () => {
      message.success('上学日已保存');
      void client.invalidateQueries({ queryKey: CALENDAR_KEY });
    },
  });
  return (
    <Flex gap={12} wrap align="center" style={{ marginBottom: 12 }}>
      <Typography.Text strong>每周上学日</Typography.Text>
      <Checkbox.Group aria-label="每周上学日" options={WEEKDAY_OPTIONS} value={value} disabled={!editable} onChange={(next) => setValue(next as number[])} />
      {editable && (
        <Button onClick={() => save.mutate()} loading={save.isPending}>
          保存上学日
        </Button>
      )}
      {save.error && <ErrorAlert error={save.error} />}
    </Flex>
  );
}

/** Show a month of the school's calendar, with days without school shaded and named below. */
function MonthView({ schoolCode }: { schoolCode: string }) {
  const [month, setMonth] = useState(() => dayjs(todayInShanghai()).startOf('month'));
  const from = month.startOf('month').format('YYYY-MM-DD');
  const to = month.endOf('month').format('YYYY-MM-DD');
  const view = useQuery({
    queryKey: [...CALENDAR_KEY, 'school', schoolCode, from, to],
    queryFn: () => api<SchoolCalendarView>(`/api/schools/${encodeURIComponent(schoolCode)}/calendar?from=${from}&to=${to}`),
    placeholderData: (previous) => previous,
  });
  const byDay = new Map((view.data?.days ?? []).map((d) => [d.day, d]));
  const marked = (view.data?.days ?? []).filter((d) => d.source !== 'weekday');
  const today = todayInShanghai();

  return (
    <Flex gap={24} wrap align="start" data-testid="calendar-month">
      <div style={{ width: 320, border: '1px solid #f0f0f0', borderRadius: 8 }}>
        <Calendar
          fullscreen={false}
          value={month}
          onPanelChange={(value) => setMonth(value.startOf('month'))}
          onSelect={(value, info) => info.source !== 'date' && setMonth(value.startOf('month'))}
          fullCellRender={(date, info) => {
            if (info.type !== 'date') return info.originNode;
            const status = byDay.get(date.format('YYYY-MM-DD'));
            const isOff = status ? !status.isSchoolDay : false;
            const inMonth = date.month() === month.month();
            return (
              <div
                title={status ? `${status.day} ${status.isSchoolDay ? '上学日' : '不上学'}：${status.label}` : undefined}
                className={isOff && inMonth ? 'calendar-day-off' : undefined}
                style={{
                  margin: '0 auto',
                  width: 28,
                  lineHeight: '24px',
                  borderRadius: 4,
                  background: isOff && inMonth ? '#fff1e6' : undefined,
                  color: isOff && inMonth ? '#d46b08' : undefined,
                  outline: date.format('YYYY-MM-DD') === today ? '1px solid #1677ff' : undefined,
                  opacity: inMonth ? 1 : 0.35,
                }}
              >
                {date.date()}
              </div>
            );
          }}
        />
      </div>
      <div style={{ flex: '1 1 260px', minWidth: 240 }}>
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {month.format('YYYY 年 M 月')}的特殊安排
        </Typography.Title>
        <Typography.Paragraph type="secondary">橙色为不上学的日子。以下为区里或本校单独设置的日子，其余按每周上学日安排。</Typography.Paragraph>
        {view.error && <ErrorAlert error={view.error} />}
        {marked.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="本月没有放假、调休或停课" />
        ) : (
          <Space orientation="vertical" size={4}>
            {marked.map((d) => (
              <span key={d.day}>
                <Tag color={d.isSchoolDay ? 'blue' : 'orange'}>{d.isSchoolDay ? '上学' : '不上学'}</Tag>
                {d.day}（{WEEKDAYS[d.weekday]}）{d.label}
              </span>
            ))}
          </Space>
        )}
      </div>
    </Flex>
  );
}

/**
 * Show the school calendar (校历) tab. District admins edit the district's holidays and
 * make-up working days. The chosen school's weekdays, closures (停课) and extra school days
 * are edited by its school admin or the district, with a month view of the result. Checks,
 * reports, the gate and reminders all follow this calendar.
 */
export function CalendarTab() {
  const user = useUser();
  const { school } = useSchool();
  const isDistrict = user.role === 'district_admin';
  const span = entrySpan();
  const districtQuery = useQuery({
    queryKey: [...CALENDAR_KEY, 'district', span.from],
    queryFn: () => api<{ entries: CalendarEntry[] }>(`/api/district/calendar?from=${span.from}&to=${span.to}`),
    enabled: isDistrict,
  });
  const schoolQuery = useQuery({
    queryKey: [...CALENDAR_KEY, 'school', school?.code, span.from],
    queryFn: () => api<SchoolCalendarView>(`/api/schools/${encodeURIComponent(school!.code)}/calendar?from=${span.from}&to=${span.to}`),
    enabled: school !== null,
  });

  if ((isDistrict && districtQuery.isLoading) || schoolQuery.isLoading) return <Loading />;
  const districtEntries = isDistrict ? (districtQuery.data?.entries ?? []) : (schoolQuery.data?.districtEntries ?? []);
  return (
    <div data-testid="calendar-settings">
      {districtQuery.error && <ErrorAlert error={districtQuery.error} />}
      {schoolQuery.error && <ErrorAlert error={schoolQuery.error} />}
      <EntryEditor
        title="全区校历"
        testId="district-calendar"
        entries={districtEntries}
        labels={{ off: '放假', on: '调休上课' }}
        placeholder="如 国庆节、国庆节调休"
        editable={isDistrict}
        url="/api/district/calendar/days"
        extra={
          isDistrict
            ? '周一至周五默认上学。在这里设置全区的法定节假日和调休上课日，全区学校都按此安排；某校单独设置的日子优先。'
            : '由区教育局设置，全区学校按此放假或调休上课；本校如有停课或补课，在下方设置。'
        }
      />
      {school && schoolQuery.data ? (
        <>
          <Card title={`本校校历：${schoolQuery.data.schoolName}`} style={{ marginBottom: 16 }} data-testid="school-calendar-month">
            <WeekdaysEditor schoolCode={school.code} weekdays={schoolQuery.data.weekdays} editable />
            <MonthView schoolCode={school.code} />
          </Card>
          <EntryEditor
            title="本校停课与补课"
            testId="school-calendar"
            entries={schoolQuery.data.schoolEntries}
            labels={{ off: '停课', on: '上课' }}
            placeholder="如 流感停课、运动会补课"
            editable
            url={`/api/schools/${encodeURIComponent(school.code)}/calendar/days`}
            extra="只对本校生效，优先于全区校历。停课的日子不收晨午检、不发未到校和缺勤提醒，也不需要上报日报。"
          />
        </>
      ) : (
        isDistrict && <Empty description="在顶部选择学校后可设置该校的停课与补课" />
      )}
    </div>
  );
}
