import { useEffect } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, InputNumber, Radio, Select, Space, Switch, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';
import { formatDateTime } from '../../format';

/** GET /api/schools/:code/sync-schedule. */
interface Schedule {
  crons: string[];
  preset: string | null;
  polling: { enabled: boolean; everyMinutes: number; from: string; to: string };
  /** The school's own 每天同步: true when the scheduled syncs run every day, false when only for the school days of the school calendar. */
  everyDay: boolean;
  /** 全区每天同步 while the district has it on, which makes the school sync every day; null while it is off. */
  districtEveryDay: { enabledAt: number | null; enabledByName: string | null } | null;
  /** Time ('HH:MM') from which a run prepares the next day's school, or null when no run does. */
  nextDayFrom: string | null;
  nextRuns: number[];
}

interface Values {
  mode: string;
  crons: string[];
  polling: Schedule['polling'];
  everyDay: boolean;
}

const PRESETS = [
  { value: 'daily-0430', label: '当天 04:30' },
  { value: 'evening-2100-morning-0630', label: '前一晚 21:00 和当天 06:30' },
  { value: 'custom', label: '自定义' },
];

const SYNC_DAYS = [
  { value: false, label: '按校历，只在上学日同步' },
  { value: true, label: '每天同步（含周末、放假和停课的日子）' },
];
const CLOCK = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Write how the school calendar decides the days of the scheduled syncs, in words a district officer reads at once. */
function syncDaysHelp(everyDay: boolean | undefined, nextDayFrom: string | null | undefined): string {
  if (everyDay) return '全量同步和轮询每天都按上面的时间进行，不看校历。疫情期间需要随时掌握健康码变化时使用。';
  const evening = nextDayFrom
    ? `${nextDayFrom} 以后的同步为第二天做准备，按第二天算：周日晚上的同步为周一准备，照常进行；周五晚上的为周六准备，周六不上学就不同步。`
    : '';
  return `全量同步和轮询只在校历中的上学日进行：周末、全区放假和本校停课的日子不同步，调休上课和本校上课的日子照常同步。${evening}校历在 设置 › 校历 中修改。`;
}

/** Show, read-only, that the district makes every school sync every day: 全区已开启每天同步（由 X 于 Y 开启）. */
function DistrictEveryDayNotice({ notice }: { notice: NonNullable<Schedule['districtEveryDay']> }) {
  return (
    <Alert
      type="warning"
      showIcon
      style={{ marginBottom: 16 }}
      data-testid="district-every-day"
      title={`全区已开启每天同步（由 ${notice.enabledByName ?? '—'} 于 ${formatDateTime(notice.enabledAt)} 开启）`}
      description="本校的全量同步和轮询现在每天都进行，不看校历，下面的“同步日期”暂不起作用。全区开关由区级管理员在 设置 › 全区设置 中关闭，关闭后按本校的“同步日期”同步。"
    />
  );
}

/** When the school's health codes are fetched in full, the polling during school hours, and on which days both run. */
export function SyncScheduleTab({ schoolCode }: { schoolCode: string }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<Values>();
  const mode = Form.useWatch('mode', form);
  const pollingEnabled = Form.useWatch(['polling', 'enabled'], form);
  const everyDay = Form.useWatch('everyDay', form);
  const url = `/api/schools/${encodeURIComponent(schoolCode)}/sync-schedule`;
  const schedule = useQuery({ queryKey: ['sync-schedule', schoolCode], queryFn: () => api<Schedule>(url) });
  const save = useMutation({
    mutationFn: (values: Values) =>
      api<Schedule>(url, {
        method: 'PUT',
        body:
          values.mode === 'custom'
            ? { crons: values.crons, polling: values.polling, everyDay: values.everyDay }
            : { preset: values.mode, polling: values.polling, everyDay: values.everyDay },
      }),
    onSuccess: (reply) => {
      client.setQueryData(['sync-schedule', schoolCode], reply);
      message.success('同步时间已保存');
    },
  });

  useEffect(() => {
    if (schedule.data) {
      form.setFieldsValue({ mode: schedule.data.preset ?? 'custom', crons: schedule.data.crons, polling: schedule.data.polling, everyDay: schedule.data.everyDay });
    }
  }, [schedule.data, form]);

  if (schedule.isLoading) return <Loading />;
  if (schedule.error) return <ErrorAlert error={schedule.error} />;

  return (
    <Card title="健康码同步时间" style={{ maxWidth: 720 }} data-testid="sync-schedule">
      {schedule.data?.districtEveryDay && <DistrictEveryDayNotice notice={schedule.data.districtEveryDay} />}
      {save.error && <ErrorAlert error={save.error} />}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={(values) => save.mutate(values)}>
        <Form.Item name="mode" label="全量同步">
          <Radio.Group options={PRESETS} />
        </Form.Item>
        {mode === 'custom' && (
          <Form.Item
            name="crons"
            label="cron 表达式（北京时间，5 段：分 时 日 月 周）"
            extra="例如 30 4 * * * 表示 04:30（同步日期见下方）；输入后按回车添加，一次输入多个时用分号隔开。"
            rules={[{ required: true, type: 'array', min: 1, message: '至少需要一个同步时间' }]}
            // Text around a semicolon keeps its spaces, which a cron does not need.
            normalize={(crons: string[]) => crons.map((cron) => cron.trim()).filter(Boolean)}
          >
            {/* Semicolons separate crons, as in `fangkong schedule --cron`, because a comma is part of a cron list such as 1,3,5. */}
            <Select mode="tags" open={false} tokenSeparators={[';', '；']} placeholder="30 4 * * *" />
          </Form.Item>
        )}
        <Form.Item name={['polling', 'enabled']} label="在校时段轮询" valuePropName="checked">
          <Switch />
        </Form.Item>
        {pollingEnabled && (
          <Space wrap size={24}>
            <Form.Item
              name={['polling', 'everyMinutes']}
              label="间隔（分钟）"
              rules={[
                { required: true, message: '请输入轮询间隔' },
                { type: 'integer', min: 5, max: 240, message: '轮询间隔应为 5 到 240 的整数分钟' },
              ]}
            >
              <InputNumber precision={0} style={{ width: 120 }} />
            </Form.Item>
            <Form.Item name={['polling', 'from']} label="开始" rules={[{ pattern: CLOCK, message: '请按 HH:MM 填写，例如 07:00' }]}>
              <Input style={{ width: 100 }} />
            </Form.Item>
            <Form.Item
              name={['polling', 'to']}
              label="结束"
              dependencies={[['polling', 'from']]}
              rules={[
                { pattern: CLOCK, message: '请按 HH:MM 填写，例如 17:00' },
                ({ getFieldValue }) => ({
                  validator: (_, value: string) => (value >= getFieldValue(['polling', 'from']) ? Promise.resolve() : Promise.reject(new Error('结束时间不能早于开始时间'))),
                }),
              ]}
            >
              <Input style={{ width: 100 }} />
            </Form.Item>
          </Space>
        )}
        <Form.Item name="everyDay" label="同步日期" extra={syncDaysHelp(everyDay, schedule.data?.nextDayFrom)}>
          <Radio.Group options={SYNC_DAYS} />
        </Form.Item>
        <Form.Item label="接下来的全量同步" extra={schedule.data?.everyDay || schedule.data?.districtEveryDay ? undefined : '不上学的日子不同步，已略去。'}>
          <Space wrap>
            {(schedule.data?.nextRuns ?? []).map((at) => (
              <Tag key={at}>{formatDateTime(at)}</Tag>
            ))}
            {schedule.data?.nextRuns.length === 0 && <Typography.Text type="secondary">无</Typography.Text>}
          </Space>
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={save.isPending}>
          保存
        </Button>
      </Form>
    </Card>
  );
}
