import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Drawer, Form, Grid, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/common';
import { DeviceKeyModal, type ShownDeviceKey } from '../../components/DeviceKeyModal';
import { formatDateTime } from '../../format';

/** GET /api/venue-devices item. */
interface VenueDevice {
  id: string;
  kind: string;
  name: string;
  operator: string;
  venueId: string | null;
  active: boolean;
  lastSeenAt: number | null;
}

/** POST /api/venue-devices and its rotate-key reply: the credential `<id>.<key>`, shown once. */
interface VenueDeviceKeyReply {
  id: string;
  kind: string;
  name: string;
  key: string;
  setupUrl: string | null;
}

interface NewVenueDeviceValues {
  kind: string;
  name: string;
}

const DEVICE_KIND_LABELS: Record<string, string> = { staff_phone: '工作人员手机', card_reader: '读卡器' };

/** The venue whose devices the drawer manages. */
export interface DeviceVenue {
  id: string;
  name: string;
}

function shownKeyOf(reply: VenueDeviceKeyReply, rotated: boolean): ShownDeviceKey {
  const setup = reply.setupUrl ? (
    <>
      <Typography.Paragraph>
        设置链接：
        <Typography.Text copyable={{ text: reply.setupUrl, tooltips: ['复制链接', '已复制'] }} data-testid="device-setup-url" style={{ wordBreak: 'break-all' }}>
          {reply.setupUrl}
        </Typography.Text>
      </Typography.Paragraph>
      <Typography.Paragraph type="secondary">在工作人员的手机浏览器中打开这个链接，手机会记住密钥，之后打开“工作人员登记”页面即可刷卡号或代为登记。</Typography.Paragraph>
    </>
  ) : (
    <Typography.Paragraph type="secondary">把设备密钥配置到读卡器上，读卡器上报刷卡时在请求头中带上 Authorization: Bearer 设备密钥。</Typography.Paragraph>
  );
  return {
    title: rotated ? `“${reply.name}”的新密钥` : `已登记“${reply.name}”`,
    deviceId: reply.id,
    secret: reply.key,
    notice: rotated ? '旧密钥已失效，设备换上新密钥之前不能登记。' : undefined,
    setup,
  };
}

/** Registration form of a card reader or staff phone at one venue. */
function NewVenueDeviceModal({ venue, open, onClose, onCreated }: { venue: DeviceVenue; open: boolean; onClose: () => void; onCreated: (reply: VenueDeviceKeyReply) => void }) {
  const [form] = Form.useForm<NewVenueDeviceValues>();
  const create = useMutation({
    mutationFn: (values: NewVenueDeviceValues) => api<VenueDeviceKeyReply>('/api/venue-devices', { method: 'POST', body: { ...values, venueId: venue.id } }),
    onSuccess: (reply) => {
      form.resetFields();
      onCreated(reply);
    },
  });
  return (
    <Modal
      open={open}
      title={`登记设备：${venue.name}`}
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
      <Form form={form} layout="vertical" requiredMark={false} initialValues={{ kind: 'staff_phone' }} onFinish={(values) => create.mutate(values)}>
        <Form.Item name="kind" label="设备类型" extra="工作人员手机可以手工输入卡号和代为登记；读卡器只上报刷卡。">
          <Select options={Object.entries(DEVICE_KIND_LABELS).map(([value, label]) => ({ value, label }))} />
        </Form.Item>
        <Form.Item name="name" label="设备名称" rules={[{ required: true, whitespace: true, message: '请输入设备名称，例如“司机手机”' }, { max: 40, message: '设备名称最多 40 个字' }]}>
          <Input placeholder="司机手机" />
        </Form.Item>
      </Form>
    </Modal>
  );
}

/**
 * Drawer with one venue's card readers and staff phones: register one (its key shown once),
 * give one a new key, or disable it. Staff phones shared by all venues of an operator are
 * registered through the API only.
 */
export function VenueDevicesDrawer({ venue, onClose }: { venue: DeviceVenue | null; onClose: () => void }) {
  const { message } = App.useApp();
  const client = useQueryClient();
  const isPhone = !Grid.useBreakpoint().md;
  const [registering, setRegistering] = useState(false);
  const [shownKey, setShownKey] = useState<ShownDeviceKey | null>(null);
  const devices = useQuery({
    queryKey: ['venue-devices', venue?.id],
    queryFn: async () => (await api<{ devices: VenueDevice[] }>(`/api/venue-devices?venueId=${encodeURIComponent(venue!.id)}`)).devices,
    enabled: venue !== null,
  });
  const refresh = () => client.invalidateQueries({ queryKey: ['venue-devices', venue?.id] });
  const rotate = useMutation({
    mutationFn: (device: VenueDevice) => api<VenueDeviceKeyReply>(`/api/venue-devices/${encodeURIComponent(device.id)}/rotate-key`, { method: 'POST' }),
    onSuccess: (reply) => {
      setShownKey(shownKeyOf(reply, true));
      void refresh();
    },
    onError: (error) => message.error(error.message),
  });
  const retire = useMutation({
    mutationFn: (device: VenueDevice) => api(`/api/venue-devices/${encodeURIComponent(device.id)}/retire`, { method: 'POST' }).then(() => device),
    onSuccess: (device) => {
      message.success(`已停用“${device.name}”，其密钥不再有效`);
      void refresh();
    },
    onError: (error) => message.error(error.message),
  });

  return (
    <Drawer open={venue !== null} title={`读卡器与工作人员手机 · ${venue?.name ?? ''}`} size={isPhone ? '100%' : 720} onClose={onClose} destroyOnHidden>
      <Typography.Paragraph type="secondary">
        扫不了码的人可以刷老年卡、学生卡或市民卡，或由工作人员用手机代为登记。每台读卡器和工作人员手机都要先在这里登记，拿到只显示一次的设备密钥。
      </Typography.Paragraph>
      <Button type="primary" icon={<PlusOutlined />} onClick={() => setRegistering(true)} style={{ marginBottom: 16 }}>
        登记设备
      </Button>
      {devices.error && <ErrorAlert error={devices.error} />}
      <Table<VenueDevice>
        rowKey="id"
        size="small"
        loading={devices.isLoading}
        dataSource={devices.data ?? []}
        pagination={{ hideOnSinglePage: true, pageSize: 20 }}
        scroll={{ x: 600 }}
        locale={{ emptyText: '还没有登记设备' }}
        columns={[
          { title: '名称', dataIndex: 'name' },
          { title: '类型', dataIndex: 'kind', width: 120, render: (kind: string) => DEVICE_KIND_LABELS[kind] ?? kind },
          { title: '状态', dataIndex: 'active', width: 80, render: (active: boolean) => (active ? <Tag color="green">在用</Tag> : <Tag>已停用</Tag>) },
          { title: '最近使用', dataIndex: 'lastSeenAt', width: 150, render: (value: number | null) => (value ? formatDateTime(value) : '从未使用') },
          {
            title: '操作',
            key: 'actions',
            width: isPhone ? 100 : 170,
            fixed: 'right',
            render: (_, device) =>
              device.active ? (
                <Space size={4} wrap>
                  <Popconfirm title="更换密钥" description="旧密钥立即失效，设备换上新密钥才能继续登记。确定更换吗？" okText="更换" cancelText="取消" onConfirm={() => rotate.mutate(device)}>
                    <Button size="small" loading={rotate.isPending && rotate.variables?.id === device.id}>
                      更换密钥
                    </Button>
                  </Popconfirm>
                  <Popconfirm title="停用设备" description="停用后该设备的登记都会被拒绝，且不能再启用。确定停用吗？" okText="停用" okButtonProps={{ danger: true }} cancelText="取消" onConfirm={() => retire.mutate(device)}>
                    <Button size="small" danger loading={retire.isPending && retire.variables?.id === device.id}>
                      停用
                    </Button>
                  </Popconfirm>
                </Space>
              ) : (
                '—'
              ),
          },
        ]}
      />
      {venue && (
        <NewVenueDeviceModal
          venue={venue}
          open={registering}
          onClose={() => setRegistering(false)}
          onCreated={(reply) => {
            setRegistering(false);
            setShownKey(shownKeyOf(reply, false));
            void refresh();
          }}
        />
      )}
      <DeviceKeyModal shown={shownKey} onClose={() => setShownKey(null)} />
    </Drawer>
  );
}
