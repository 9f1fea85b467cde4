import { useQuery } from '@tanstack/react-query';
import { Card, Table } from 'antd';
import { api } from '../api/client';
import { useRoute } from '../api/routes';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';

interface SchoolRow {
  code: string;
  name: string;
}

/** The district's view: every school; the daily-report dashboard joins here when its API exists. */
export function DistrictPage() {
  const route = useRoute('GET /api/schools');
  const schools = useQuery({
    queryKey: ['schools-table'],
    queryFn: async () => {
      const reply = await api<{ schools?: SchoolRow[] } | SchoolRow[]>('/api/schools');
      return Array.isArray(reply) ? reply : (reply.schools ?? []);
    },
    enabled: route.path !== undefined,
  });
  if (route.isLoading) return <Loading />;
  return (
    <>
      <PageTitle title="区级" />
      {!route.path ? (
        <NotOpen title="全区学校" />
      ) : (
        <Card title="全区学校">
          {schools.error && <ErrorAlert error={schools.error} />}
          <Table<SchoolRow>
            rowKey="code"
            size="small"
            loading={schools.isLoading}
            dataSource={schools.data ?? []}
            columns={[
              { title: '学校代码', dataIndex: 'code', width: 140 },
              { title: '学校名称', dataIndex: 'name' },
            ]}
          />
        </Card>
      )}
      <div style={{ height: 16 }} />
      <NotOpen title="全区日报" />
    </>
  );
}
