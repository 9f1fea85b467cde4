import { useEffect } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Descriptions, Form, InputNumber } from 'antd';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';
import { gateSettingsKey, gateSettingsUrl, showFieldProblems, type GateThresholdsReply } from './shared';

/**
 * Edit how long the school's gate snapshots are kept, and show the retention of the
 * district's venue check-ins, which the installation sets.
 */
export function RetentionTab({ schoolCode }: { schoolCode: string }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<{ snapshotRetentionDays: number }>();
  const settings = useQuery({ queryKey: gateSettingsKey(schoolCode), queryFn: () => api<GateThresholdsReply>(gateSettingsUrl(schoolCode)) });
  const save = useMutation({
    mutationFn: (values: { snapshotRetentionDays: number }) => api<GateThresholdsReply>(gateSettingsUrl(schoolCode), { method: 'PUT', body: values }),
    onSuccess: (reply) => {
      client.setQueryData(gateSettingsKey(schoolCode), reply);
      message.success('保留期限已保存，过期的抓拍图将在一小时内删除');
    },
    onError: (error) => showFieldProblems(form, error),
  });

  useEffect(() => {
    if (settings.data) form.setFieldsValue({ snapshotRetentionDays: settings.data.thresholds.snapshotRetentionDays });
  }, [settings.data, form]);

  if (settings.isLoading) return <Loading />;
  if (settings.error) return <ErrorAlert error={settings.error} />;

  return (
    <Card title="数据保留期限" style={{ maxWidth: 720 }} data-testid="retention">
      {save.error && <ErrorAlert error={save.error} />}
      <Form form={form} layout="vertical" requiredMark={false} onFinish={(values) => save.mutate(values)}>
        <Form.Item
          name="snapshotRetentionDays"
          label="闸机抓拍图保留天数"
          extra="被拦截时通道拍下的照片，到期后自动删除（每小时检查一次）。"
          rules={[
            { required: true, message: '请输入抓拍图保留天数' },
            { type: 'integer', min: 1, max: 365, message: '抓拍图保留天数应为 1 到 365 的整数' },
          ]}
        >
          <InputNumber precision={0} style={{ width: 160 }} suffix="天" />
        </Form.Item>
        <Button type="primary" htmlType="submit" loading={save.isPending}>
          保存
        </Button>
      </Form>
      <Descriptions column={1} size="small" style={{ marginTop: 24 }} title="其他数据">
        <Descriptions.Item label="场所码扫码登记">
          保留 {settings.data!.installation.venueCheckinRetentionDays} 天后删除（全区统一，由服务器环境变量 FANGKONG_VENUE_RETENTION_DAYS 设置）
        </Descriptions.Item>
        <Descriptions.Item label="通行记录">不自动删除：考勤和日报依据通行记录生成；抓拍图按上面的期限删除</Descriptions.Item>
      </Descriptions>
    </Card>
  );
}
