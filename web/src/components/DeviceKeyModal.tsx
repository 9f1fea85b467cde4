import type { ReactNode } from 'react';
import { Alert, Button, Modal, Typography } from 'antd';

/** A device key to show once, as registration or a key rotation returned it. */
export interface ShownDeviceKey {
  title: string;
  deviceId: string;
  /** The secret the device is configured with; never listed again. */
  secret: string;
  /** Extra notice under the show-once warning, for example that the old key stopped working. */
  notice?: string;
  /** How to put the key on the device. */
  setup: ReactNode;
}

/** Dialog that shows a device key once, with a copy button. Closing it discards the key. */
export function DeviceKeyModal({ shown, onClose }: { shown: ShownDeviceKey | null; onClose: () => void }) {
  return (
    <Modal
      open={shown !== null}
      title={shown?.title}
      onCancel={onClose}
      footer={
        <Button type="primary" onClick={onClose}>
          我已保存密钥
        </Button>
      }
      maskClosable={false}
      destroyOnHidden
    >
      {shown && (
        <div data-testid="device-key">
          <Alert type="warning" showIcon style={{ marginBottom: 16 }} title="密钥只显示这一次，关闭后无法再查看。请立即复制并配置到设备上。" />
          {shown.notice && <Alert type="info" showIcon style={{ marginBottom: 16 }} title={shown.notice} />}
          <Typography.Paragraph>
            设备 ID：<Typography.Text copyable={{ text: shown.deviceId }} code>{shown.deviceId}</Typography.Text>
          </Typography.Paragraph>
          <Typography.Paragraph>
            设备密钥：
            <Typography.Text copyable={{ text: shown.secret, tooltips: ['复制密钥', '已复制'] }} code data-testid="device-key-value" style={{ wordBreak: 'break-all' }}>
              {shown.secret}
            </Typography.Text>
          </Typography.Paragraph>
          {typeof shown.setup === 'string' ? <Typography.Paragraph type="secondary">{shown.setup}</Typography.Paragraph> : shown.setup}
        </div>
      )}
    </Modal>
  );
}
