import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Card, Col, Row, Segmented, Table, Tag, Typography } from 'antd';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { GateAlert } from '../api/types';
import { useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { formatDateTime } from '../format';
import { useSchool } from '../layout/school';

const ALERT_KIND: Record<GateAlert['kind'], string> = { fever: '体温异常', code: '健康码异常', unknown_face: '未识别人员', device_offline: '设备离线' };
const ALERT_STATUS: Record<GateAlert['status'], { label: string; color: string }> = {
  open: { label: '待处理', color: 'error' },
  acknowledged: { label: '处理中', color: 'warning' },
  closed: { label: '已关闭', color: 'default' },
};

/** Delivery states of the outbox, as users read them. */
export const NOTICE_STATUS: Record<string, { label: string; color: string }> = {
  pending: { label: '待发送', color: 'default' },
  sending: { label: '发送中', color: 'processing' },
  confirming: { label: '确认中', color: 'processing' },
  sent: { label: '已送达', color: 'success' },
  filtered: { label: '已去重', color: 'default' },
  failed: { label: '无法送达', color: 'error' },
  dead: { label: '重试用尽', color: 'error' },
};

const CHANNELS: Record<string, string> = { dingtalk_work: '钉钉工作通知', dingtalk_robot: '钉钉群机器人', inbox: '站内消息' };

/** A notice as GET /api/schools/:code/notices lists it. */
export interface Notice {
  id: string;
  channel: string;
  kind: string;
  /** Delivery state: waiting, sent, filtered, failed or dead. */
  state: string;
  stateLabel: string;
  /** Outbox status, finer than the state. */
  status: string;
  title: string;
  body: string;
  recipientPersonId: string | null;
  recipientGuardianId: string | null;
  recipientRole: string | null;
  hasDingtalkRecipient: boolean;
  attempts: number;
  lastError: string | null;
  deliveryNote: string | null;
  createdAt: number;
  sentAt: number | null;
  nextAttemptAt: number | null;
}

function GateAlerts({ schoolCode }: { schoolCode: string }) {
  const user = useUser();
  const route = useRoute('GET /api/schools/:code/alerts');
  const [status, setStatus] = useState('open');
  const canRead = ['district_admin', 'school_admin', 'school_doctor', 'guard'].includes(user.role);
  const alerts = useQuery({
    queryKey: ['gate-alerts', schoolCode, status],
    queryFn: () => api<{ alerts: GateAlert[] }>(fillPath(route.path!, { code: schoolCode }) + (status === 'all' ? '' : `?status=${status}`)),
    enabled: route.path !== undefined && canRead,
    refetchInterval: 15_000,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path || !canRead) return <NotOpen title="预警" />;
  return (
    <Card
      title="预警"
      extra={
        <Segmented
          value={status}
          onChange={(value) => setStatus(String(value))}
          options={[
            { label: '待处理', value: 'open' },
            { label: '处理中', value: 'acknowledged' },
            { label: '已关闭', value: 'closed' },
            { label: '全部', value: 'all' },
          ]}
        />
      }
    >
      {alerts.error && <ErrorAlert error={alerts.error} />}
      <Table<GateAlert>
        rowKey="id"
        size="small"
        loading={alerts.isLoading}
        dataSource={alerts.data?.alerts ?? []}
        scroll={{ x: 640 }}
        pagination={{ pageSize: 10, showSizeChanger: false }}
        columns={[
          { title: '时间', dataIndex: 'createdAt', width: 150, render: formatDateTime },
          { title: '类型', dataIndex: 'kind', width: 100, render: (value: GateAlert['kind']) => ALERT_KIND[value] ?? value },
          { title: '内容', dataIndex: 'title', render: (value: string, row) => <Typography.Text title={row.detail}>{value}</Typography.Text> },
          { title: '状态', dataIndex: 'status', width: 90, render: (value: GateAlert['status']) => <Tag color={ALERT_STATUS[value]?.color}>{ALERT_STATUS[value]?.label ?? value}</Tag> },
          { title: '处理结果', dataIndex: 'closedNote', render: (value: string | null) => value ?? '' },
        ]}
      />
    </Card>
  );
}

function toNotices(reply: unknown): Notice[] {
  if (Array.isArray(reply)) return reply as Notice[];
  const envelope = reply as { notices?: Notice[]; items?: Notice[] };
  return envelope.notices ?? envelope.items ?? [];
}

function Notices({ schoolCode }: { schoolCode: string }) {
  const route = useRoute('GET /api/schools/:code/notices', 'GET /api/schools/:code/outbox');
  const notices = useQuery({
    queryKey: ['notices', schoolCode],
    queryFn: async () => toNotices(await api<unknown>(fillPath(route.path!, { code: schoolCode }))),
    enabled: route.path !== undefined,
    refetchInterval: 10_000,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="通知与送达情况" />;
  return (
    <Card title="通知与送达情况">
      {notices.error && <ErrorAlert error={notices.error} />}
      <Table<Notice>
        rowKey="id"
        size="small"
        loading={notices.isLoading}
        dataSource={notices.data ?? []}
        scroll={{ x: 720 }}
        pagination={{ pageSize: 20, showSizeChanger: false }}
        columns={[
          { title: '时间', dataIndex: 'createdAt', width: 150, render: formatDateTime },
          { title: '标题', dataIndex: 'title' },
          { title: '渠道', dataIndex: 'channel', width: 120, render: (value: string) => CHANNELS[value] ?? value },
          { title: '送达状态', dataIndex: 'status', width: 100, render: (value: string) => <Tag color={NOTICE_STATUS[value]?.color}>{NOTICE_STATUS[value]?.label ?? value}</Tag> },
          { title: '送达时间', dataIndex: 'sentAt', width: 150, render: formatDateTime },
          { title: '说明', render: (_, row) => row.deliveryNote ?? row.lastError ?? '' },
        ]}
      />
    </Card>
  );
}

export function NoticesPage() {
  const { school } = useSchool();
  if (!school) return <NeedSchool title="预警与通知" />;
  return (
    <>
      <PageTitle title={`预警与通知 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
          <GateAlerts schoolCode={school.code} />
        </Col>
        <Col span={24}>
          <Notices schoolCode={school.code} />
        </Col>
      </Row>
    </>
  );
}
