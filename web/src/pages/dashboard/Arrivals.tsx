import { Card, Empty, Table, Typography } from 'antd';
import { shanghai } from '../../format';
import type { AttendanceDay, ClassArrivals } from '../../api/types';
import { Chart } from '../../components/Chart';
import { ErrorAlert } from '../../components/common';

/** Minutes per point of the arrival curve. */
const CURVE_STEP_MINUTES = 5;

function NoData({ text = '暂无数据' }: { text?: string }) {
  return <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={text} style={{ padding: '48px 0' }} />;
}

/** '二年级' from '二(3)班'; pupils without a class form their own group. */
function gradeLabel(className: string): string {
  const index = className.indexOf('(');
  return index > 0 ? `${className.slice(0, index)}年级` : className;
}

interface Props {
  attendance: AttendanceDay | undefined;
  isLoading: boolean;
  error: unknown;
}

/** Cumulative arrivals through the morning against the expected count. */
export function ArrivalCurve({ attendance, isLoading, error }: Props) {
  const times = (attendance?.classes ?? []).flatMap((c) => c.arrived.map((a) => a.firstPassAt)).sort((a, b) => a - b);
  const expected = attendance ? attendance.arrivedCount + attendance.notArrivedCount : 0;
  const points: Array<[string, number]> = [];
  if (times.length > 0) {
    const step = CURVE_STEP_MINUTES * 60_000;
    const start = Math.floor(times[0] / step) * step;
    const end = Math.ceil((times[times.length - 1] + 1) / step) * step;
    let index = 0;
    for (let t = start + step; t <= end; t += step) {
      while (index < times.length && times[index] < t) index += 1;
      points.push([shanghai(t).format('HH:mm'), index]);
    }
  }
  return (
    <Card title="到校曲线" loading={isLoading}>
      {error ? <ErrorAlert error={error} /> : null}
      {points.length === 0 ? (
        <NoData text={attendance && !attendance.isSchoolDay ? `${attendance.notSchoolDayText}` : '今日还没有人到校'} />
      ) : (
        <Chart
          height={300}
          label="今日累计到校人数折线图"
          option={{
            tooltip: { trigger: 'axis' },
            legend: { bottom: 0 },
            grid: { left: 56, right: 16, top: 24, bottom: 56 },
            xAxis: { type: 'category', data: points.map(([time]) => time), boundaryGap: false },
            yAxis: { type: 'value', name: '人', max: Math.max(expected, points[points.length - 1][1]) },
            series: [
              { name: '累计到校', type: 'line', areaStyle: { opacity: 0.15 }, showSymbol: false, data: points.map(([, count]) => count), itemStyle: { color: '#1677ff' } },
              { name: '应到', type: 'line', showSymbol: false, lineStyle: { type: 'dashed' }, data: points.map(() => expected), itemStyle: { color: '#8c8c8c' } },
            ],
          }}
        />
      )}
    </Card>
  );
}

/** Arrived and not-arrived pupils per grade. */
export function ArrivalsByGrade({ attendance, isLoading, error }: Props) {
  const grades = new Map<string, { arrived: number; notArrived: number }>();
  for (const klass of attendance?.classes ?? []) {
    const label = gradeLabel(klass.className);
    const entry = grades.get(label) ?? { arrived: 0, notArrived: 0 };
    entry.arrived += klass.arrived.length;
    entry.notArrived += klass.notArrived.length;
    grades.set(label, entry);
  }
  const labels = [...grades.keys()];
  return (
    <Card title="各年级到校" loading={isLoading}>
      {error ? <ErrorAlert error={error} /> : null}
      {labels.length === 0 ? (
        <NoData />
      ) : (
        <Chart
          label="各年级到校柱状图"
          option={{
            tooltip: { trigger: 'axis' },
            legend: { bottom: 0 },
            grid: { left: 48, right: 16, top: 24, bottom: 56 },
            xAxis: { type: 'category', data: labels },
            yAxis: { type: 'value', name: '人' },
            series: [
              { name: '已到校', type: 'bar', stack: 'n', data: labels.map((l) => grades.get(l)!.arrived), itemStyle: { color: '#52c41a' } },
              { name: '未到校', type: 'bar', stack: 'n', data: labels.map((l) => grades.get(l)!.notArrived), itemStyle: { color: '#ff7875' } },
            ],
          }}
        />
      )}
    </Card>
  );
}

/** The classes with the most pupils not arrived, the ones to phone first. */
export function ClassesMissing({ attendance, isLoading }: Omit<Props, 'error'>) {
  const rows = [...(attendance?.classes ?? [])]
    .filter((c) => c.notArrived.length > 0)
    .sort((a, b) => b.notArrived.length - a.notArrived.length || a.className.localeCompare(b.className, 'zh-CN'))
    .slice(0, 8);
  return (
    <Card title="未到校较多的班级" loading={isLoading}>
      {rows.length === 0 ? (
        <NoData text={attendance ? '全部到校' : '暂无数据'} />
      ) : (
        <Table<ClassArrivals>
          rowKey={(row) => row.classId ?? row.className}
          size="small"
          pagination={false}
          // Fixed layout gives the names column only the width left over, so on a phone the
          // names are cut with an ellipsis instead of widening the table past the card.
          tableLayout="fixed"
          dataSource={rows}
          columns={[
            { title: '班级', dataIndex: 'className', width: 90 },
            { title: '已到/应到', key: 'ratio', width: 100, render: (_, row) => `${row.arrived.length}/${row.arrived.length + row.notArrived.length}` },
            {
              title: '未到校',
              key: 'names',
              render: (_, row) => (
                <Typography.Text type="secondary" ellipsis={{ tooltip: row.notArrived.map((p) => p.name).join('、') }}>
                  {row.notArrived.length} 人：{row.notArrived.map((p) => p.name).join('、')}
                </Typography.Text>
              ),
            },
          ]}
        />
      )}
    </Card>
  );
}
