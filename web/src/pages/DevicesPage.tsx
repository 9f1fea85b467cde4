import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Form, Grid, Input, Modal, Popconfirm, Row, Select, Space, Table, Tag, Typography } from 'antd';
import { DesktopOutlined, PlusOutlined } from '@ant-design/icons';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import { isAdmin, useUser } from '../auth/session';
import { ErrorAlert, Loading, NotOpen, PageTitle } from '../components/common';
import { DeviceKeyModal, type ShownDeviceKey } from '../components/DeviceKeyModal';
import { NeedSchool } from '../components/NeedSchool';
import { GATE_REASONS, formatDateTime } from '../format';
import { useSchool } from '../layout/school';

/** GET /api/schools/:code/devices item; keys are never listed, only shown once at registration or rotation. */
interface Device {
  id: string;
  name: string;
  kind: string;
  lane: string | null;
  direction: string;
  active: boolean;
  lastSeenAt: number | null;
  online: boolean;
  /** Newest event of the last 30 days, or null. */
  lastEvent: { occurredAt: number; decision: string; reason: string } | null;
}

/** The reply that carries a device key, the only time it is shown. */
interface KeyReply {
  device: Device;
  key: string;
  setup: string;
}

interface NewDeviceValues {
  name: string;
  kind: string;
  lane?: string;
  direction: string;
}

const KIND_LABELS: Record<string, string> = { hikvision: '海康测温终端', api: '通道设备', kiosk: '平板闸机' };

function shownKeyOf(reply: KeyReply, rotated: boolean): ShownDeviceKey {
  return {
    title: rotated ? '新的设备密钥' : '设备已登记',
    deviceId: reply.device.id,
    secret: reply.key,
    notice: rotated ? '旧密钥已失效，设备换上新密钥之前将无法通行。' : undefined,
    setup: reply.setup,
  };
}

/** Registration form of a device; the reply's key goes to the key dialog. */
function NewDeviceModal({ schoolCode, open, onClose, onCreated }: { schoolCode: string; open: boolean; onClose: () => void; onCreated: (reply: KeyReply) => void }) {
  const [form] = Form.useForm<NewDeviceValues>();
  const create = useMutation({
    mutationFn: (values: NewDeviceValues) => api<KeyReply>(`/api/schools/${encodeURIComponent(schoolCode)}/devices`, { method: 'POST', body: values }),
    onSuccess: (reply) => {
      form.resetFields();
      onCreated(reply);
    },
  });
  return (
    <Modal
      open={open}
      title="登记设备"
      okText="登记"
      cancelText="取消"
      onOk={() => form.submit()}
      onCancel={() => {
        create.reset();
        onClose();
      }}
      confirmLoading={create.isPending}
      destroyOnHidden
    >
      {create.error && <ErrorAlert error={create.error} />}
      <Form form={form} layout="vertical" requiredMark={false} initialValues={{ kind: 'kiosk', direction: 'in' }} onFinish={(values) => create.mutate(values)}>
        <Form.Item name="name" label="设备名称" rules={[{ required: true, whitespace: true, message: '请输入设备名称，例如“东门 1 号通道”' }, { max: 40, message: '设备名称最多 40 个字' }]}>
          <Input placeholder="东门 1 号通道" />
        </Form.Item>
        <Form.Item name="lane" label="通道" extra="同一个校门的设备填写相同的通道名，例如“东门”。" rules={[{ max: 40, message: '通道名最多 40 个字' }]}>
          <Input placeholder="东门" />
        </Form.Item>
        <Form.Item name="kind" label="设备类型">
          <Select options={Object.entries(KIND_LABELS).map(([value, label]) => ({ value, label }))} />
        </Form.Item>
        <Form.Item name="direction" label="方向">
          <Select options={[{ value: 'in', label: '入校' }, { value: 'out', label: '离校' }]} />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/** How a tablet becomes a kiosk: register it, then open /kiosk on it and enter the id and key once. */
function KioskCard() {
  return (
    <Card title="平板闸机" extra={<DesktopOutlined />}>
      <Typography.Paragraph>
        带摄像头的平板可以作为人脸识别闸机：在平板浏览器中打开闸机页面，由管理员输入一次设备 ID 和设备密钥，之后平板会在本机识别人脸、测温并实时显示通行结果。
      </Typography.Paragraph>
      <Typography.Paragraph>
        登记设备：在上方点击“登记设备”，类型选“平板闸机”，记下显示的设备 ID 和密钥（密钥只显示一次）。也可以在服务器上运行{' '}
        <Typography.Text code>npx fangkong device add --school 学校代码 --kind kiosk --name 东门1号平板 --lane 东门</Typography.Text>。
      </Typography.Paragraph>
      <Button type="primary" href="/kiosk" target="_blank">
        打开闸机页面
      </Button>
    </Card>
  );
}

export function DevicesPage() {
  const user = useUser();
  const { message } = App.useApp();
  const client = useQueryClient();
  const { school } = useSchool();
  const route = useRoute('GET /api/schools/:code/devices');
  const isPhone = !Grid.useBreakpoint().md;
  const [registering, setRegistering] = useState(false);
  const [shownKey, setShownKey] = useState<ShownDeviceKey | null>(null);
  const devices = useQuery({
    queryKey: ['devices', school?.code],
    queryFn: async () => (await api<{ devices: Device[] }>(fillPath(route.path!, { code: school!.code }))).devices,
    enabled: route.path !== undefined && school !== null,
    refetchInterval: 30_000,
  });
  const deviceUrl = (device: Device, action: string) => `/api/schools/${encodeURIComponent(school!.code)}/devices/${encodeURIComponent(device.id)}/${action}`;
  const refresh = () => client.invalidateQueries({ queryKey: ['devices', school?.code] });
  const rotate = useMutation({
    mutationFn: (device: Device) => api<KeyReply>(deviceUrl(device, 'rotate-key'), { method: 'POST' }),
    onSuccess: (reply) => {
      setShownKey(shownKeyOf(reply, true));
      void refresh();
    },
    onError: (error) => message.error(error.message),
  });
  const toggle = useMutation({
    mutationFn: (device: Device) => api<Device>(deviceUrl(device, device.active ? 'disable' : 'enable'), { method: 'POST' }),
    onSuccess: (device) => {
      message.success(device.active ? `已启用 ${device.name}` : `已停用 ${device.name}，其密钥不再有效`);
      void refresh();
    },
    onError: (error) => message.error(error.message),
  });
  const canManage = isAdmin(user);
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
            <Card
              title="门禁与测温终端"
              extra={
                canManage && (
                  <Button type="primary" icon={<PlusOutlined />} onClick={() => setRegistering(true)}>
                    登记设备
                  </Button>
                )
              }
            >
              {devices.error && <ErrorAlert error={devices.error} />}
              <Table<Device>
                rowKey="id"
                size="small"
                loading={devices.isLoading}
                dataSource={devices.data ?? []}
                scroll={{ x: 1380 }}
                pagination={{ hideOnSinglePage: true, pageSize: 20 }}
                columns={[
                  { title: '名称', dataIndex: 'name', width: isPhone ? 120 : 170, fixed: isPhone ? undefined : 'left' },
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
                  {
                    title: '最近通行',
                    dataIndex: 'lastEvent',
                    width: 210,
                    render: (event: Device['lastEvent']) =>
                      event ? (
                        <Space size={4}>
                          <span>{formatDateTime(event.occurredAt)}</span>
                          <Tag color={event.decision === 'pass' ? 'success' : 'error'}>{event.decision === 'pass' ? '通行' : (GATE_REASONS[event.reason] ?? '拦截')}</Tag>
                        </Space>
                      ) : (
                        '近 30 天无'
                      ),
                  },
                  { title: '设备 ID', dataIndex: 'id', width: 300, render: (value: string) => <Typography.Text copyable style={{ whiteSpace: 'nowrap' }}>{value}</Typography.Text> },
                  ...(canManage
                    ? [
                        {
                          title: '操作',
                          key: 'actions',
                          width: isPhone ? 140 : 170,
                          // Kept in view: at 1440 px the table scrolls and the buttons would start off screen.
                          fixed: 'right' as const,
                          render: (_: unknown, device: Device) => (
                            <Space size={4}>
                              <Popconfirm
                                title="更换密钥"
                                description="旧密钥立即失效，设备需换上新密钥才能继续使用。确定更换吗？"
                                okText="更换"
                                cancelText="取消"
                                onConfirm={() => rotate.mutate(device)}
                              >
                                <Button size="small" loading={rotate.isPending && rotate.variables?.id === device.id}>
                                  更换密钥
                                </Button>
                              </Popconfirm>
                              {device.active ? (
                                <Popconfirm
                                  title="停用设备"
                                  description="停用后该设备的请求都会被拒绝。确定停用吗？"
                                  okText="停用"
                                  okButtonProps={{ danger: true }}
                                  cancelText="取消"
                                  onConfirm={() => toggle.mutate(device)}
                                >
                                  <Button size="small" danger loading={toggle.isPending && toggle.variables?.id === device.id}>
                                    停用
                                  </Button>
                                </Popconfirm>
                              ) : (
                                <Button size="small" onClick={() => toggle.mutate(device)} loading={toggle.isPending && toggle.variables?.id === device.id}>
                                  启用
                                </Button>
                              )}
                            </Space>
                          ),
                        },
                      ]
                    : []),
                ]}
              />
            </Card>
          )}
        </Col>
        <Col span={24}>
          <KioskCard />
        </Col>
      </Row>
      <NewDeviceModal
        schoolCode={school.code}
        open={registering}
        onClose={() => setRegistering(false)}
        onCreated={(reply) => {
          setRegistering(false);
          setShownKey(shownKeyOf(reply, false));
          void refresh();
        }}
      />
      <DeviceKeyModal shown={shownKey} onClose={() => setShownKey(null)} />
    </>
  );
}
