import { useEffect } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, InputNumber, Select, Space, Typography } from 'antd';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';
import { gateSettingsKey, gateSettingsUrl, showFieldProblems, type GateThresholdsReply } from './shared';

type Values = Omit<GateThresholdsReply['thresholds'], 'snapshotRetentionDays'>;

/** The server's FEVER_THRESHOLD_RANGE in ℃. */
const FEVER_MIN_C = 37;
const FEVER_MAX_C = 38.5;

/** Check that the typed fever threshold lies in the allowed range, so the sensor range can be compared with it. */
function isValidThreshold(value: unknown): value is number {
  return typeof value === 'number' && value >= FEVER_MIN_C && value <= FEVER_MAX_C;
}

const ACTION_OPTIONS = [
  { value: 'allow_and_flag', label: '放行并标记，通知班主任' },
  { value: 'deny', label: '拦截' },
];

/** Fever threshold, sensor range, stale codes and missing temperatures of the school's gate. */
export function GateThresholdsTab({ schoolCode }: { schoolCode: string }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<Values>();
  const settings = useQuery({ queryKey: gateSettingsKey(schoolCode), queryFn: () => api<GateThresholdsReply>(gateSettingsUrl(schoolCode)) });
  const save = useMutation({
    mutationFn: (values: Values) => api<GateThresholdsReply>(gateSettingsUrl(schoolCode), { method: 'PUT', body: { ...values, codeStaleHours: values.codeStaleHours ?? null } }),
    onSuccess: (reply) => {
      client.setQueryData(gateSettingsKey(schoolCode), reply);
      message.success('通行阈值已保存，闸机 10 秒内按新阈值判断');
    },
    onError: (error) => showFieldProblems(form, error),
  });

  useEffect(() => {
    if (settings.data) form.setFieldsValue(settings.data.thresholds);
  }, [settings.data, form]);

  if (settings.isLoading) return <Loading />;
  if (settings.error) return <ErrorAlert error={settings.error} />;
  const defaultStaleHours = settings.data!.installation.codeStaleHours;

  return (
    <Card title="通行阈值" style={{ maxWidth: 720 }} data-testid="gate-thresholds">
      {save.error && <ErrorAlert error={save.error} />}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={(values) => save.mutate(values)}>
        <Form.Item
          name="feverThresholdC"
          label="发热阈值（℃）"
          extra="体温达到或超过该值即判为发热，拦截并通知班主任和校医。"
          rules={[
            { required: true, message: '请输入发热阈值' },
            {
              // The message names the value as typed, worded as the server's.
              validator: async (_, value: number | null | undefined) => {
                if (value === null || value === undefined || isValidThreshold(value)) return;
                throw new Error(`发热阈值 ${value} ℃ 超出范围，应为 ${FEVER_MIN_C} 到 ${FEVER_MAX_C} ℃（低于 37.0 ℃ 会把体温正常的人判为发热，高于 38.5 ℃ 会放行发热的人）`);
              },
            },
          ]}
        >
          <InputNumber step={0.1} precision={1} style={{ width: 160 }} />
        </Form.Item>
        <Space wrap size={24}>
          <Form.Item
            name="sensorMinC"
            label="测温下限（℃）"
            dependencies={['feverThresholdC']}
            rules={[
              { required: true, message: '请输入测温下限' },
              { type: 'number', min: 0, max: 40, message: '测温下限应为 0 到 40 ℃' },
              ({ getFieldValue }) => ({
                // While the threshold itself is invalid, only its own field shows an error.
                validator: (_, value: number) => {
                  const threshold: unknown = getFieldValue('feverThresholdC');
                  return !isValidThreshold(threshold) || value < threshold ? Promise.resolve() : Promise.reject(new Error('测温下限应低于发热阈值'));
                },
              }),
            ]}
          >
            <InputNumber step={0.5} precision={1} style={{ width: 160 }} />
          </Form.Item>
          <Form.Item
            name="sensorMaxC"
            label="测温上限（℃）"
            dependencies={['feverThresholdC']}
            rules={[
              { required: true, message: '请输入测温上限' },
              { type: 'number', min: 38, max: 60, message: '测温上限应为 38 到 60 ℃' },
              ({ getFieldValue }) => ({
                validator: (_, value: number) => {
                  const threshold: unknown = getFieldValue('feverThresholdC');
                  return !isValidThreshold(threshold) || value > threshold ? Promise.resolve() : Promise.reject(new Error('测温上限应高于发热阈值'));
                },
              }),
            ]}
          >
            <InputNumber step={0.5} precision={1} style={{ width: 160 }} />
          </Form.Item>
        </Space>
        <Typography.Paragraph type="secondary" style={{ marginTop: -8 }}>
          读数低于下限或高于上限视为测温异常（设备故障），提示重新测温，不算发热。
        </Typography.Paragraph>
        <Form.Item
          name="codeStaleHours"
          label="健康码过期时长（小时）"
          extra={`超过该时长未刷新的健康码视为过期。留空则使用系统默认 ${defaultStaleHours} 小时。`}
          rules={[{ type: 'integer', min: 1, max: 168, message: '健康码过期时长应为 1 到 168 的整数小时' }]}
        >
          <InputNumber step={1} precision={0} style={{ width: 160 }} placeholder={`默认 ${defaultStaleHours}`} />
        </Form.Item>
        <Form.Item name="staleGreenCode" label="过期的绿码" extra="最近一次为绿码但已过期时的处理。">
          <Select options={ACTION_OPTIONS} style={{ maxWidth: 320 }} />
        </Form.Item>
        <Form.Item name="missingTemperature" label="未测体温" extra="通道没有上报体温（例如只刷卡的门禁）时的处理。">
          <Select options={ACTION_OPTIONS} style={{ maxWidth: 320 }} />
        </Form.Item>
        <Form.Item
          name="deviceOfflineMinutes"
          label="设备离线判定（分钟）"
          extra="设备超过该时长没有任何上报即视为离线并发出预警。"
          rules={[
            { required: true, message: '请输入设备离线判定时长' },
            { type: 'integer', min: 1, max: 1440, message: '设备离线判定应为 1 到 1440 的整数分钟' },
          ]}
        >
          <InputNumber step={1} precision={0} style={{ width: 160 }} />
        </Form.Item>
        <Alert type="info" showIcon style={{ marginBottom: 16 }} title="保存后 10 秒内所有通道按新设置判断，修改记录写入审计日志。" />
        <Button type="primary" htmlType="submit" loading={save.isPending}>
          保存
        </Button>
      </Form>
    </Card>
  );
}
