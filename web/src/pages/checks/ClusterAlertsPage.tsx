import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Empty, Flex, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import { useUser } from '../../auth/session';
import { ErrorAlert, Loading, PageTitle } from '../../components/common';
import { DEFAULT_SYMPTOM_LABELS, shanghaiDateTime, type ClusterAlert, type IllnessCase } from './shared';

/** Roles that may acknowledge or close an alert; the server checks it again. */
const HANDLERS = ['district_admin', 'school_admin', 'school_doctor'];

const STATUS: Record<ClusterAlert['status'], { label: string; color: string }> = {
  open: { label: '待处置', color: 'red' },
  acknowledged: { label: '处置中', color: 'orange' },
  closed: { label: '已关闭', color: 'default' },
};

/**
 * Cluster alerts of the last 30 days: every school for the district, the own school for
 * school staff. Each shows the rule that fired, the shared symptoms or diagnosis and the
 * cases behind it.
 */
export function ClusterAlertsPage() {
  const user = useUser();
  const alerts = useQuery({
    queryKey: ['cluster-alerts'],
    queryFn: () => api<{ from: string; to: string; alerts: ClusterAlert[] }>('/api/cluster-alerts'),
    refetchInterval: 60_000,
  });
  const list = alerts.data?.alerts ?? [];
  const isDistrict = user.role === 'district_admin';
  const canHandle = HANDLERS.includes(user.role);
  const { message } = App.useApp();
  const client = useQueryClient();
  const handle = useMutation({
    mutationFn: ({ alert, action }: { alert: ClusterAlert; action: 'acknowledge' | 'close' }) =>
      api(`/api/schools/${encodeURIComponent(alert.schoolCode)}/cluster-alerts/${encodeURIComponent(alert.id)}/${action}`, { method: 'POST' }),
    onSuccess: (_reply, { action }) => {
      message.success(action === 'close' ? '预警已关闭' : '已标记为处置中');
      void client.invalidateQueries({ queryKey: ['cluster-alerts'] });
    },
    onError: (error) => message.error(error.message),
  });

  return (
    <div data-testid="cluster-alerts-page">
      <PageTitle title={isDistrict ? '聚集性预警（全区）' : '聚集性预警'} extra={alerts.data && <Typography.Text type="secondary">{alerts.data.from} 至 {alerts.data.to}</Typography.Text>} />
      {alerts.error && <ErrorAlert error={alerts.error} />}
      {alerts.isLoading ? (
        <Loading />
      ) : list.length === 0 ? (
        <Card>
          <Empty description="近 30 天没有聚集性预警" />
        </Card>
      ) : (
        <Flex vertical gap={12}>
          {list.map((alert) => (
            <Card
              key={alert.id}
              size="small"
              data-testid="cluster-alert"
              title={
                <Space wrap size={6}>
                  {isDistrict && <span>{alert.schoolName}</span>}
                  <span>{alert.className}</span>
                  <Tag color="red">{alert.caseCount} 人</Tag>
                  {alert.signs.map((s) => (
                    <Tag key={`${s.kind}:${s.code}`} color={s.kind === 'diagnosis' ? 'purple' : 'orange'}>
                      {s.label} {s.count} 人
                    </Tag>
                  ))}
                </Space>
              }
              extra={
                <Space size={6} wrap>
                  <Tag color={STATUS[alert.status].color}>{STATUS[alert.status].label}</Tag>
                  {canHandle && alert.status === 'open' && (
                    <Button size="small" onClick={() => handle.mutate({ alert, action: 'acknowledge' })}>
                      开始处置
                    </Button>
                  )}
                  {canHandle && alert.status !== 'closed' && (
                    <Popconfirm title="确认已处置完毕并关闭此预警？" okText="关闭预警" cancelText="取消" onConfirm={() => handle.mutate({ alert, action: 'close' })}>
                      <Button size="small">关闭</Button>
                    </Popconfirm>
                  )}
                </Space>
              }
            >
              <Typography.Paragraph style={{ marginBottom: 8 }}>
                <Typography.Text strong>规则：</Typography.Text>
                {alert.ruleText}
                <br />
                <Typography.Text strong>时间：</Typography.Text>
                {alert.windowStart === alert.windowEnd ? alert.windowStart : `${alert.windowStart} 至 ${alert.windowEnd}`}（{shanghaiDateTime(alert.createdAt)} 发出预警）
              </Typography.Paragraph>
              <Table<IllnessCase>
                size="small"
                pagination={false}
                rowKey={(c) => `${c.personId}:${c.day}`}
                dataSource={alert.cases}
                scroll={{ x: 'max-content' }}
                columns={[
                  { title: '日期', dataIndex: 'day' },
                  { title: '姓名', dataIndex: 'name' },
                  { title: '情况', render: (_, c) => (c.absent ? '因病缺勤' : '在校有症状') },
                  { title: '症状/诊断', render: (_, c) => [...c.symptoms.map((code) => alert.signs.find((s) => s.code === code)?.label ?? DEFAULT_SYMPTOM_LABELS[code] ?? code), c.diagnosisName ?? c.diagnosis].filter(Boolean).join('、') },
                ]}
              />
            </Card>
          ))}
        </Flex>
      )}
    </div>
  );
}
