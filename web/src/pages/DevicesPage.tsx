import { useQuery } from '@tanstack/react-query';
import { Button, Card, Col, Row, Table, Tag, Typography } from 'antd';
import { DesktopOutlined } from '@ant-design/icons';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { NeedSchool } from '../components/NeedSchool';
import { formatDateTime } from '../format';
import { useSchool } from '../layout/school';

/** GET /api/schools/:code/devices item; keys are never listed, only shown once at registration. */
interface Device {
  id: string;
  name: string;
  kind: string;
  lane: string | null;
  direction: string;
  active: boolean;
  lastSeenAt: number | null;
  online: boolean;
}

const KIND_LABELS: Record<string, string> = { hikvision: '海康测温终端', api: '通道设备', kiosk: '平板闸机' };

/** How a tablet becomes a kiosk: register it, then open /kiosk on it and enter the id and key once. */
function KioskCard() {
  return (
    <Card title="平板闸机" extra={<DesktopOutlined />}>
      <Typography.Paragraph>
        带摄像头的平板可以作为人脸识别闸机：在平板浏览器中打开闸机页面，由管理员输入一次设备 ID 和设备密钥，之后平板会在本机识别人脸、测温并实时显示通行结果。
      </Typography.Paragraph>
      <Typography.Paragraph>
        登记设备：在服务器上运行 <Typography.Text code>npx fangkong device add --school 学校代码 --kind kiosk --name 东门1号平板 --lane 东门</Typography.Text>
        ，记下输出的设备 ID 和密钥（密钥只显示一次）。
      </Typography.Paragraph>
      <Button type="primary" href="/kiosk" target="_blank">
        打开闸机页面
      </Button>
    </Card>
  );
}

export function DevicesPage() {
  const { school } = useSchool();
  const route = useRoute('GET /api/schools/:code/devices');
  const devices = useQuery({
    queryKey: ['devices', school?.code],
    queryFn: async () => (await api<{ devices: Device[] }>(fillPath(route.path!, { code: school!.code }))).devices,
    enabled: route.path !== undefined && school !== null,
    refetchInterval: 30_000,
  });
  if (!school) return <NeedSchool title="设备" />;
  if (route.isLoading) return <Loading />;
  return (
    <>
      <PageTitle title={`设备 · ${school.name}`} />
      <Row gutter={[16, 16]}>
        <Col span={24}>
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
                scroll={{ x: 960 }}
                pagination={{ hideOnSinglePage: true, pageSize: 20 }}
                columns={[
                  { title: '名称', dataIndex: 'name' },
                  { title: '类型', dataIndex: 'kind', width: 130, render: (value: string) => KIND_LABELS[value] ?? value },
                  { title: '通道', dataIndex: 'lane', width: 90, render: (value: string | null) => value ?? '—' },
                  { title: '方向', dataIndex: 'direction', width: 70, render: (value: string) => (value === 'out' ? '离校' : '入校') },
                  {
                    title: '状态',
                    key: 'state',
                    width: 90,
                    render: (_, device) => {
                      if (!device.active) return <Tag>已停用</Tag>;
                      return device.online ? <Tag color="success">在线</Tag> : <Tag color="error">离线</Tag>;
                    },
                  },
                  { title: '最近上报', dataIndex: 'lastSeenAt', width: 150, render: (value: number | null) => (value ? formatDateTime(value) : '从未上报') },
                  { title: '设备 ID', dataIndex: 'id', width: 300, render: (value: string) => <Typography.Text copyable style={{ whiteSpace: 'nowrap' }}>{value}</Typography.Text> },
                ]}
              />
            </Card>
          )}
        </Col>
        <Col span={24}>
          <KioskCard />
        </Col>
      </Row>
    </>
  );
}
