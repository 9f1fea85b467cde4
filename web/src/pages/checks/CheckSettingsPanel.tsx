import { useEffect, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Divider, Form, Input, InputNumber, Space, Tag, TimePicker, Typography } from 'antd';
import { Link } from 'react-router';
import { PlusOutlined } from '@ant-design/icons';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';
import type { SymptomOption } from './shared';

/** GET/PUT /api/schools/:code/check-settings. */
interface CheckSettings {
  symptoms: SymptomOption[];
  unknownAbsenceReminderAt: string;
  morningDueAt: string;
  noonDueAt: string;
  clusterSameDayThreshold: number;
  clusterWindowThreshold: number;
  clusterWindowSchoolDays: number;
}

interface FormValues {
  unknownAbsenceReminderAt: Dayjs;
  morningDueAt: Dayjs;
  noonDueAt: Dayjs;
  clusterSameDayThreshold: number;
  clusterWindowThreshold: number;
  clusterWindowSchoolDays: number;
}

/** The symptom every school keeps, so any complaint can be marked. */
const OTHER_SYMPTOM = 'other';

const clock = (text: string) => dayjs(`2000-01-01 ${text}`);

/** Allowed ranges of the cluster-alert counts, the same that src/modules/checks/check-settings.ts enforces. */
const CLUSTER_SAME_DAY_RANGE = { min: 2, max: 50 } as const;
const CLUSTER_WINDOW_RANGE = { min: 2, max: 100 } as const;
const CLUSTER_DAYS_RANGE = { min: 2, max: 10 } as const;

/**
 * A form rule that rejects a count that is not a whole number within the range, naming the
 * value as typed. The count inputs carry no min or max of their own, because antd's InputNumber
 * would clamp a typed 365 to its max on blur and the form would then save a value the user never typed.
 */
function countRule(label: string, unit: string, { min, max }: { min: number; max: number }) {
  return {
    validator: async (_rule: unknown, value: number | null | undefined) => {
      if (value === null || value === undefined) return;
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`${label}应为 ${min} 到 ${max} ${unit}之间的整数，填写的是 ${value}`);
      }
    },
  };
}

/** A new symptom's code: 'custom_' and the next free number. */
function nextSymptomCode(symptoms: SymptomOption[]): string {
  let n = 1;
  while (symptoms.some((s) => s.code === `custom_${n}`)) n += 1;
  return `custom_${n}`;
}

/**
 * The school's check settings for its admin: the symptom list head teachers mark, the
 * reminder and due times and the cluster-alert thresholds. School days come from the
 * 校历 tab. The server checks every field again and names the one that is wrong.
 */
export function CheckSettingsPanel({ schoolCode }: { schoolCode: string }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<FormValues>();
  const path = `/api/schools/${encodeURIComponent(schoolCode)}/check-settings`;
  const settings = useQuery({ queryKey: ['check-settings', schoolCode], queryFn: () => api<CheckSettings>(path) });
  const [symptoms, setSymptoms] = useState<SymptomOption[]>([]);
  const [newSymptom, setNewSymptom] = useState('');

  useEffect(() => {
    const data = settings.data;
    if (!data) return;
    setSymptoms(data.symptoms);
    form.setFieldsValue({
      unknownAbsenceReminderAt: clock(data.unknownAbsenceReminderAt),
      morningDueAt: clock(data.morningDueAt),
      noonDueAt: clock(data.noonDueAt),
      clusterSameDayThreshold: data.clusterSameDayThreshold,
      clusterWindowThreshold: data.clusterWindowThreshold,
      clusterWindowSchoolDays: data.clusterWindowSchoolDays,
    });
  }, [settings.data, form]);

  const save = useMutation({
    mutationFn: (values: FormValues) =>
      api<CheckSettings>(path, {
        method: 'PUT',
        body: {
          symptoms,
          unknownAbsenceReminderAt: values.unknownAbsenceReminderAt.format('HH:mm'),
          morningDueAt: values.morningDueAt.format('HH:mm'),
          noonDueAt: values.noonDueAt.format('HH:mm'),
          clusterSameDayThreshold: values.clusterSameDayThreshold,
          clusterWindowThreshold: values.clusterWindowThreshold,
          clusterWindowSchoolDays: values.clusterWindowSchoolDays,
        },
      }),
    onSuccess: (saved) => {
      message.success('晨午检设置已保存');
      client.setQueryData(['check-settings', schoolCode], saved);
    },
  });

  const addSymptom = () => {
    const label = newSymptom.trim();
    if (!label) return;
    if (symptoms.some((s) => s.label === label)) {
      message.warning(`症状“${label}”已在列表中`);
      return;
    }
    // New symptoms go before 其他, which stays last.
    const others = symptoms.filter((s) => s.code === OTHER_SYMPTOM);
    setSymptoms([...symptoms.filter((s) => s.code !== OTHER_SYMPTOM), { code: nextSymptomCode(symptoms), label }, ...others]);
    setNewSymptom('');
  };

  if (settings.isLoading) return <Loading />;
  if (settings.error) return <ErrorAlert error={settings.error} />;
  return (
    <Card data-testid="check-settings">
      {save.error && <ErrorAlert error={save.error} />}
      <Form<FormValues> form={form} layout="vertical" onFinish={(values) => save.mutate(values)} style={{ maxWidth: 720 }}>
        <Typography.Title level={5}>症状列表</Typography.Title>
        <Typography.Paragraph type="secondary">班主任晨午检时可勾选的症状。“其他”不能删除；已记录过的症状删除后，历史记录仍保留原来的名称。</Typography.Paragraph>
        <Space wrap style={{ marginBottom: 12 }}>
          {symptoms.map((s) => (
            <Tag key={s.code} closable={s.code !== OTHER_SYMPTOM} onClose={() => setSymptoms(symptoms.filter((x) => x.code !== s.code))}>
              {s.label}
            </Tag>
          ))}
        </Space>
        <Space.Compact style={{ marginBottom: 24 }}>
          <Input aria-label="新症状" placeholder="如 头痛" maxLength={20} value={newSymptom} onChange={(e) => setNewSymptom(e.target.value)} onPressEnter={(e) => (e.preventDefault(), addSymptom())} />
          <Button icon={<PlusOutlined />} onClick={addSymptom}>
            添加症状
          </Button>
        </Space.Compact>

        <Typography.Title level={5}>时间</Typography.Title>
        <Space wrap size="large">
          <Form.Item name="morningDueAt" label="晨检截止" rules={[{ required: true, message: '请选择晨检截止时间' }]}>
            <TimePicker format="HH:mm" minuteStep={5} allowClear={false} />
          </Form.Item>
          <Form.Item name="noonDueAt" label="午检截止" rules={[{ required: true, message: '请选择午检截止时间' }]}>
            <TimePicker format="HH:mm" minuteStep={5} allowClear={false} />
          </Form.Item>
          <Form.Item name="unknownAbsenceReminderAt" label="原因不明缺勤提醒" tooltip="到这个时间仍有原因不明的缺勤时，提醒班主任当天上午追问" rules={[{ required: true, message: '请选择提醒时间' }]}>
            <TimePicker format="HH:mm" minuteStep={5} allowClear={false} />
          </Form.Item>
        </Space>
        <Typography.Paragraph type="secondary">截止时间之后录入或更正的记录会标为“补录”。时间均为北京时间。</Typography.Paragraph>

        <Divider />
        <Typography.Title level={5}>聚集性预警</Typography.Title>
        <Space wrap size="large" align="start">
          <Form.Item
            name="clusterSameDayThreshold"
            label="同一天同班病例数"
            rules={[{ required: true, message: '请填写人数' }, countRule('同一天同班病例数', '人', CLUSTER_SAME_DAY_RANGE)]}
          >
            <InputNumber addonAfter="人" />
          </Form.Item>
          <Form.Item
            name="clusterWindowThreshold"
            label="连续上学日内同班病例数"
            rules={[{ required: true, message: '请填写人数' }, countRule('连续上学日内同班病例数', '人', CLUSTER_WINDOW_RANGE)]}
          >
            <InputNumber addonAfter="人" />
          </Form.Item>
          <Form.Item name="clusterWindowSchoolDays" label="连续上学日" rules={[{ required: true, message: '请填写天数' }, countRule('连续上学日', '天', CLUSTER_DAYS_RANGE)]}>
            <InputNumber addonAfter="天" />
          </Form.Item>
        </Space>
        <Typography.Paragraph type="secondary">病例指因病缺勤或在校出现症状、且有相同症状或相同诊断的学生。达到任一条件即提醒校医和学校管理人员，并报区级。</Typography.Paragraph>

        <Alert
          type="info"
          showIcon
          style={{ marginBottom: 16 }}
          title={
            <>
              连续上学日按<Link to="/settings?tab=calendar">校历</Link>计算：放假、停课的日子不计入，也不收晨午检、不发缺勤提醒。
            </>
          }
        />

        <Button type="primary" htmlType="submit" loading={save.isPending}>
          保存晨午检设置
        </Button>
      </Form>
    </Card>
  );
}
