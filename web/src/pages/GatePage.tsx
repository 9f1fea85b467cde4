import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Card, Col, DatePicker, Row, Segmented, Statistic, Table, Tag } from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { AttendanceDay, GateEvent } from '../api/types';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { formatTime } from '../format';
import { useSchool } from '../layout/school';
import { CodeTag } from './HealthCodesPage';

function Attendance({ schoolCode, day }: { schoolCode: string; day: string }) {
  const route = useRoute('GET /api/schools/:code/attendance');
  const attendance = useQuery({
    queryKey: ['attendance', schoolCode, day],
    queryFn: () => api<AttendanceDay>(fillPath(route.path!, { code: schoolCode }) + `?day=${day}`),
    enabled: route.path !== undefined,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="到校情况" />;
  const data = attendance.data;
  return (
    <Card title="到校情况" loading={attendance.isLoading}>
      {attendance.error && <ErrorAlert error={attendance.error} />}
      <Row gutter={16}>
        <Col xs={8}>
          <Statistic title="已到校" value={data?.arrivedCount ?? 0} />
        </Col>
        <Col xs={8}>
          <Statistic title="未到校" value={data?.notArrivedCount ?? 0} styles={{ content: { color: '#cf1322' } }} />
        </Col>
        <Col xs={8}>
          <Statistic title="迟到" value={data?.lateCount ?? 0} />
        </Col>
      </Row>
    </Card>
  );
}

function Events({ schoolCode, day }: { schoolCode: string; day: string }) {
  const route = useRoute('GET /api/schools/:code/gate/events');
  const [decision, setDecision] = useState('all');
  const events = useQuery({
    queryKey: ['gate-events', schoolCode, day, decision],
    queryFn: () =>
      api<{ events: GateEvent[] }>(fillPath(route.path!, { code: schoolCode }) + `?day=${day}&limit=200${decision === 'all' ? '' : `&decision=${decision}`}`),
    enabled: route.path !== undefined,
    refetchInterval: 10_000,
  });
  if (route.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="通行记录" />;
  return (
    <Card
      title="通行记录"
      extra={
        <Segmented
          value={decision}
          onChange={(value) => setDecision(String(value))}
          options={[
            { label: '全部', value: 'all' },
            { label: '通过', value: 'pass' },
            { label: '拒绝', value: 'deny' },
          ]}
        />
      }
    >
      {events.error && <ErrorAlert error={events.error} />}
      <Table<GateEvent>
        rowKey="id"
        size="small"
        loading={events.isLoading}
        dataSource={events.data?.events ?? []}
        scroll={{ x: 760 }}
        pagination={{ pageSize: 20, showSizeChanger: false }}
        columns={[
          { title: '时间', dataIndex: 'occurredAt', width: 90, render: formatTime },
          { title: '姓名', dataIndex: 'personName', width: 90, render: (value: string | null) => value ?? '未识别' },
          { title: '班级', dataIndex: 'className', width: 90, render: (value: string | null) => value ?? '—' },
          { title: '通道', width: 120, render: (_, row) => [row.deviceName, row.lane].filter(Boolean).join(' ') },
          { title: '体温', dataIndex: 'temperature', width: 80, render: (value: number | null) => (value === null ? '—' : `${value.toFixed(1)}℃`) },
          { title: '健康码', dataIndex: 'codeColor', width: 90, render: (value: string | null) => (value ? <CodeTag color={value} /> : '—') },
          {
            title: '结果',
            dataIndex: 'decision',
            width: 80,
            render: (value: string) => (value === 'pass' ? <Tag color="success">通过</Tag> : <Tag color="error">拒绝</Tag>),
          },
          { title: '提示', dataIndex: 'prompt' },
        ]}
      />
    </Card>
  );
}

export function GatePage() {
  const { school } = useSchool();
  const [day, setDay] = useState<Dayjs>(dayjs());
  if (!school) return <NeedSchool title="通行" />;
  const dayText = day.format('YYYY-MM-DD');
  return (
    <>
      <PageTitle title={`通行 · ${school.name}`} extra={<DatePicker value={day} onChange={(value) => value && setDay(value)} allowClear={false} />} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
          <Attendance schoolCode={school.code} day={dayText} />
        </Col>
        <Col span={24}>
          <Events schoolCode={school.code} day={dayText} />
        </Col>
      </Row>
    </>
  );
}
