import { useQuery } from '@tanstack/react-query';
import { Card, Table, Tag } from 'antd';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { formatDateTime } from '../format';
import { useSchool } from '../layout/school';

/** A gate terminal as the devices list returns it; fields the gate module may not send are optional. */
interface Device {
  id: string;
  name: string;
  kind?: string;
  lane?: string | null;
  online?: boolean;
  lastSeenAt?: number | null;
}

export function DevicesPage() {
  const { school } = useSchool();
  const route = useRoute('GET /api/schools/:code/devices');
  const devices = useQuery({
    queryKey: ['devices', school?.code],
    queryFn: async () => {
      const reply = await api<{ devices?: Device[]; items?: Device[] } | Device[]>(fillPath(route.path!, { code: school!.code }));
      return Array.isArray(reply) ? reply : (reply.devices ?? reply.items ?? []);
    },
    enabled: route.path !== undefined && school !== null,
  });
  if (!school) return <NeedSchool title="设备" />;
  if (route.isLoading) return <Loading />;
  return (
    <>
      <PageTitle title={`设备 · ${school.name}`} />
      {!route.path ? (
        <NotOpen title="门禁与测温终端" />
      ) : (
        <Card title="门禁与测温终端">
          {devices.error && <ErrorAlert error={devices.error} />}
          <Table<Device>
            rowKey="id"
            size="small"
            loading={devices.isLoading}
            dataSource={devices.data ?? []}
            scroll={{ x: 560 }}
            columns={[
              { title: '名称', dataIndex: 'name' },
              { title: '类型', dataIndex: 'kind', render: (value?: string) => value ?? '—' },
              { title: '通道', dataIndex: 'lane', render: (value?: string | null) => value ?? '—' },
              { title: '状态', dataIndex: 'online', render: (value?: boolean) => (value === undefined ? '—' : value ? <Tag color="success">在线</Tag> : <Tag color="error">离线</Tag>) },
              { title: '最近心跳', dataIndex: 'lastSeenAt', render: formatDateTime },
            ]}
          />
        </Card>
      )}
    </>
  );
}
