import { Alert, Card, Col, Empty, Row, Statistic, Table, Tag, Typography } from 'antd';
import type { ReactNode } from 'react';
import { codeTagsOf, formatDateTime, shanghai } from '../../format';
import type { Report, Section } from './types';

const KIND_NAMES = { student: '学生', staff: '教职工' } as const;

function rate(arrived: number, expected: number): string {
  return expected === 0 ? '—' : `${((arrived / expected) * 100).toFixed(1)}%`;
}

function time(ms: number | null): string {
  return ms === null ? '—' : shanghai(ms).format('HH:mm');
}

/** A section from another module: its table, or why it is missing. */
function SectionCard<T extends object>({ title, section, children }: { title: string; section: Section<T>; children: (items: T[]) => ReactNode }) {
  return (
    <Card title={`${title}（${section.available ? section.items.length : '未接入'}）`} size="small" style={{ marginBottom: 16 }}>
      {section.available ? children(section.items) : <Typography.Text type="secondary">{section.note}</Typography.Text>}
    </Card>
  );
}

/** One version of a school's daily report: summary line, figures, attendance by grade and every list. */
export function ReportDetail({ report }: { report: Report }) {
  const { content, figures } = report;
  const figure = (value: number | null) => (value === null ? '—' : value);
  // On a day without school nobody is expected: the report counts arrivals only.
  const expected = (value: number) => (content.noSchoolDay ? '非上学日' : value);
  return (
    <div data-testid="report-detail">
      {content.calendarNote && <Alert type="info" showIcon title={`非上学日：${content.calendarNote}`} style={{ marginBottom: 16 }} data-testid="report-calendar-note" />}
      <Alert type={content.isZero ? 'success' : 'warning'} showIcon title={content.summary} style={{ marginBottom: 16 }} data-testid="report-summary" />
      <Row gutter={[12, 12]} style={{ marginBottom: 16 }}>
        {(
          [
            ['应到', expected(figures.expected)],
            ['实到', figures.arrived],
            ['缺勤', figures.absent],
            ['发热', figures.fevers],
            ['非绿码', figures.nonGreen],
            ['码过期', figures.stale],
            // Null for a version built before 未同步 was counted apart: its 码过期 includes them.
            ['未同步', figures.unsynced === null ? '未单独统计' : figures.unsynced],
            ['因病缺勤', figure(figures.illnessAbsences)],
            ['待跟进', figure(figures.openFollowUps)],
            ['聚集预警', figure(figures.clusters)],
            ['外来人员', figure(figures.visitors)],
          ] as Array<[string, number | string]>
        ).map(([label, value]) => (
          <Col key={label} xs={8} sm={6} md={4} xl={4} xxl={2}>
            <Card size="small">
              <Statistic title={label} value={value} />
            </Card>
          </Col>
        ))}
      </Row>

      <Card title="分年级出勤" size="small" style={{ marginBottom: 16 }}>
        <Table
          size="small"
          pagination={false}
          rowKey="label"
          scroll={{ x: true }}
          dataSource={[...content.grades, content.total]}
          columns={[
            { title: '年级', dataIndex: 'label', render: (label: string) => (label === '合计' ? <strong>{label}</strong> : label) },
            { title: '应到', dataIndex: 'expected', render: expected },
            { title: '实到', dataIndex: 'arrived' },
            { title: '缺勤', dataIndex: 'absent' },
            { title: '迟到', dataIndex: 'late' },
            { title: '因病缺勤', dataIndex: 'illnessAbsent', render: (value: number | null) => value ?? '—' },
            { title: '出勤率', key: 'rate', render: (_: unknown, row) => rate(row.arrived, row.expected) },
          ]}
        />
      </Card>

      <Card title={`发热人员（${content.fevers.length}）`} size="small" style={{ marginBottom: 16 }}>
        {content.fevers.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" />
        ) : (
          <Table
            size="small"
            pagination={false}
            rowKey={(row) => `${row.personId ?? row.name}-${row.firstAt}`}
            scroll={{ x: true }}
            dataSource={content.fevers}
            columns={[
              { title: '姓名', dataIndex: 'name' },
              { title: '班级', dataIndex: 'className', render: (value: string | null, row) => value ?? (row.kind ? KIND_NAMES[row.kind] : '未识别') },
              { title: '最高体温', dataIndex: 'maxTemperature', render: (value: number | null) => (value === null ? '—' : `${value.toFixed(1)} °C`) },
              { title: '首次测温', dataIndex: 'firstAt', render: time },
              { title: '复测', key: 'recheck', render: (_: unknown, row) => (row.recheck === null ? <Tag>未复测</Tag> : row.recheck === 'normal' ? <Tag color="green">正常 {row.recheckTemperature?.toFixed(1)} °C</Tag> : <Tag color="red">仍发热 {row.recheckTemperature?.toFixed(1)} °C</Tag>) },
            ]}
          />
        )}
      </Card>

      <Card title={`非绿码、过期及未同步健康码（${content.codes.length}）`} size="small" style={{ marginBottom: 16 }}>
        {content.codes.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" />
        ) : (
          <Table
            size="small"
            pagination={content.codes.length > 10 ? { pageSize: 10 } : false}
            rowKey="personId"
            scroll={{ x: true }}
            dataSource={content.codes}
            columns={[
              { title: '姓名', dataIndex: 'name' },
              { title: '班级', dataIndex: 'className', render: (value: string | null, row) => value ?? KIND_NAMES[row.kind] },
              { title: '健康码', dataIndex: 'color', render: (_: string, row) => codeTagsOf(row).map((tag) => <Tag key={tag.label} color={tag.color}>{tag.label}</Tag>) },
              { title: '最近获取', dataIndex: 'fetchedAt', render: (ms: number | null) => formatDateTime(ms) },
            ]}
          />
        )}
      </Card>

      <SectionCard title="因病缺勤" section={content.illnessAbsences}>
        {(items) =>
          items.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" /> : (
            <Table size="small" pagination={false} rowKey="personId" scroll={{ x: true }} dataSource={items} columns={[
              { title: '姓名', dataIndex: 'name' },
              { title: '班级', dataIndex: 'className' },
              { title: '症状', dataIndex: 'symptoms', render: (symptoms: string[]) => symptoms.join('、') || '—' },
              { title: '备注', dataIndex: 'note', render: (note: string | null) => note ?? '' },
            ]} />
          )
        }
      </SectionCard>
      <SectionCard title="待跟进的缺勤" section={content.followUps}>
        {(items) =>
          items.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" /> : (
            <Table size="small" pagination={false} rowKey="personId" scroll={{ x: true }} dataSource={items} columns={[
              { title: '姓名', dataIndex: 'name' },
              { title: '班级', dataIndex: 'className' },
              { title: '缺勤起始', dataIndex: 'since' },
              { title: '当前情况', dataIndex: 'state' },
              { title: '预计返校', dataIndex: 'expectedReturn', render: (day: string | null) => day ?? '—' },
            ]} />
          )
        }
      </SectionCard>
      <SectionCard title="聚集性预警" section={content.clusters}>
        {(items) =>
          items.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" /> : (
            <Table size="small" pagination={false} rowKey={(row) => `${row.className}-${row.raisedAt}`} scroll={{ x: true }} dataSource={items} columns={[
              { title: '班级', dataIndex: 'className' },
              { title: '触发规则', dataIndex: 'rule' },
              { title: '病例数', dataIndex: 'cases' },
              { title: '症状', dataIndex: 'symptoms', render: (symptoms: string[]) => symptoms.join('、') },
              { title: '状态', dataIndex: 'status' },
            ]} />
          )
        }
      </SectionCard>
      <SectionCard title="外来人员" section={content.visitors}>
        {(items) =>
          items.length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" /> : (
            <Table size="small" pagination={false} rowKey={(row) => `${row.name}-${row.entryAt}-${row.purpose}`} scroll={{ x: true }} dataSource={items} columns={[
              { title: '姓名', dataIndex: 'name' },
              { title: '事由', dataIndex: 'purpose' },
              { title: '入校', dataIndex: 'entryAt', render: time },
              { title: '离校', dataIndex: 'exitAt', render: time },
              { title: '登记', dataIndex: 'registration' },
              { title: '状态', dataIndex: 'status' },
            ]} />
          )
        }
      </SectionCard>
    </div>
  );
}
