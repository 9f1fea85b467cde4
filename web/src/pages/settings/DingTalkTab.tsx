import { useMutation, useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Descriptions, Flex, Form, Input, Space, Tag, Typography } from 'antd';
import { SendOutlined } from '@ant-design/icons';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';

/** GET /api/dingtalk/settings: the installation's DingTalk settings, secrets left out. */
interface DingTalkSettings {
  demo: boolean;
  apiUrl: string;
  workNotice: { configured: boolean; appKey: string; agentId: string };
  robot: { configured: boolean; webhook: string; signed: boolean };
  defaultRecipient: string | null;
}

/** POST /api/schools/:code/dingtalk/test. */
interface TestResult {
  summary: string;
  results: Array<{ channel: string; ok: boolean; message: string }>;
}

const CHANNELS: Record<string, string> = { dingtalk_work: '工作通知', dingtalk_robot: '群机器人' };

function Configured({ value }: { value: boolean }) {
  return value ? <Tag color="success">已配置</Tag> : <Tag>未配置</Tag>;
}

/** DingTalk settings and the 发送测试消息 button, which sends through the real notify client. */
export function DingTalkTab({ schoolCode }: { schoolCode: string }) {
  const [form] = Form.useForm<{ dingtalkUserId?: string }>();
  const settings = useQuery({ queryKey: ['dingtalk-settings'], queryFn: () => api<DingTalkSettings>('/api/dingtalk/settings') });
  const test = useMutation({
    mutationFn: (values: { dingtalkUserId?: string }) =>
      api<TestResult>(`/api/schools/${encodeURIComponent(schoolCode)}/dingtalk/test`, {
        method: 'POST',
        body: values.dingtalkUserId?.trim() ? { dingtalkUserId: values.dingtalkUserId.trim() } : {},
      }),
  });

  if (settings.isLoading) return <Loading />;
  if (settings.error) return <ErrorAlert error={settings.error} />;
  const data = settings.data!;
  const anyConfigured = data.workNotice.configured || data.robot.configured;

  return (
    <Card title="钉钉" style={{ maxWidth: 820 }} data-testid="dingtalk-settings">
      {data.demo && <Alert type="info" showIcon style={{ marginBottom: 16 }} title="演示模式：消息发往本机的钉钉模拟器，不会发到真实的钉钉。" />}
      <Descriptions column={1} size="small" bordered>
        <Descriptions.Item label="接口地址">{data.apiUrl}</Descriptions.Item>
        <Descriptions.Item label="工作通知">
          <Space wrap>
            <Configured value={data.workNotice.configured} />
            {data.workNotice.appKey && <span>AppKey：{data.workNotice.appKey}</span>}
            {data.workNotice.agentId && <span>AgentId：{data.workNotice.agentId}</span>}
          </Space>
        </Descriptions.Item>
        <Descriptions.Item label="群机器人">
          <Space wrap>
            <Configured value={data.robot.configured} />
            {data.robot.webhook && <Typography.Text code>{data.robot.webhook}</Typography.Text>}
            {data.robot.configured && (data.robot.signed ? <Tag color="blue">加签</Tag> : <Tag color="warning">未加签</Tag>)}
          </Space>
        </Descriptions.Item>
      </Descriptions>
      <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
        钉钉的 AppKey、AppSecret、AgentId 和群机器人地址由服务器环境变量（FANGKONG_DINGTALK_*）设置，修改后需重启服务；密钥不会在页面上显示。
      </Typography.Paragraph>

      <Typography.Title level={5}>发送测试消息</Typography.Title>
      <Form
        form={form}
        layout="inline"
        initialValues={{ dingtalkUserId: data.defaultRecipient ?? '' }}
        onFinish={(values) => test.mutate(values)}
        style={{ rowGap: 8 }}
      >
        <Form.Item name="dingtalkUserId" label="工作通知收件人（钉钉 userid）" rules={[{ max: 64, message: '钉钉 userid 最多 64 个字符' }]}>
          <Input placeholder={data.defaultRecipient ?? '例如 manager4501'} style={{ width: 220 }} allowClear />
        </Form.Item>
        <Form.Item>
          <Button type="primary" htmlType="submit" icon={<SendOutlined />} loading={test.isPending} disabled={!anyConfigured}>
            发送测试消息
          </Button>
        </Form.Item>
      </Form>
      <div style={{ marginTop: 16 }} data-testid="dingtalk-test-result">
        {test.error && <ErrorAlert error={test.error} />}
        {test.data && (
          <Flex vertical gap={8}>
            <Alert type={test.data.results.every((r) => r.ok) ? 'success' : 'warning'} showIcon title={test.data.summary} />
            {test.data.results.map((result) => (
              <Alert key={result.channel} type={result.ok ? 'success' : 'error'} showIcon title={`${CHANNELS[result.channel] ?? result.channel}：${result.message}`} />
            ))}
          </Flex>
        )}
      </div>
    </Card>
  );
}
