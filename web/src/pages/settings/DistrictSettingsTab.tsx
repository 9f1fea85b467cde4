import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Card, Descriptions, Popconfirm, Space, Switch, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import { ErrorAlert, Loading } from '../../components/common';
import { formatDateTime } from '../../format';
import type { DistrictSyncSettingsView } from '../../../../src/modules/healthcode/district-sync-service.js';

/** GET /api/district/sync-settings. */
type DistrictSyncSettings = DistrictSyncSettingsView;

const SETTINGS_KEY = ['district-sync-settings'];
const SETTINGS_URL = '/api/district/sync-settings';

/** Describe the last change of the switch: 由 张三 于 2026-12-07 09:00 开启. */
function changeText(settings: DistrictSyncSettings): string {
  if (settings.changedAt === null) return '尚未开启过';
  return `由 ${settings.changedByName ?? '—'} 于 ${formatDateTime(settings.changedAt)} ${settings.everyDay ? '开启' : '关闭'}`;
}

/**
 * Settings a district admin sets once for every school of the district. 全区每天同步 makes
 * every school sync its health codes every day, as during an outbreak, without opening
 * each school's 同步时间 tab.
 */
export function DistrictSettingsTab() {
  const { message } = App.useApp();
  const client = useQueryClient();
  const settings = useQuery({ queryKey: SETTINGS_KEY, queryFn: () => api<DistrictSyncSettings>(SETTINGS_URL) });
  const save = useMutation({
    mutationFn: (everyDay: boolean) => api<DistrictSyncSettings>(SETTINGS_URL, { method: 'PUT', body: { everyDay } }),
    onSuccess: (reply) => {
      client.setQueryData(SETTINGS_KEY, reply);
      // Every school's 同步时间 tab shows the switch and the runs it adds.
      client.invalidateQueries({ queryKey: ['sync-schedule'] });
      message.success(reply.everyDay ? '已开启全区每天同步' : '已关闭全区每天同步');
    },
  });

  if (settings.isLoading) return <Loading />;
  if (settings.error) return <ErrorAlert error={settings.error} />;
  const data = settings.data!;
  const own = data.ownEveryDaySchools;

  return (
    <Card title="全区每天同步" style={{ maxWidth: 720 }} data-testid="district-sync">
      {save.error && <ErrorAlert error={save.error} />}
      <Typography.Paragraph>
        开启后，全区 {data.schoolCount} 所学校的定时同步（全量同步和在校时段轮询）每天都按各校设置的时间进行，包括周末、放假和停课的日子，不看校历。疫情期间需要随时掌握健康码变化时使用。关闭后，各校按本校 设置 › 同步时间 中的“同步日期”同步。
      </Typography.Paragraph>
      <Space size={12} style={{ marginBottom: 16 }}>
        <Popconfirm
          title={data.everyDay ? '关闭全区每天同步？' : '开启全区每天同步？'}
          description={data.everyDay ? '关闭后各校恢复按本校设置同步。' : `全区 ${data.schoolCount} 所学校将每天同步健康码。`}
          okText={data.everyDay ? '关闭' : '开启'}
          cancelText="取消"
          onConfirm={() => save.mutate(!data.everyDay)}
        >
          <Switch checked={data.everyDay} loading={save.isPending} aria-label="全区每天同步" data-testid="district-sync-switch" />
        </Popconfirm>
        <Tag color={data.everyDay ? 'processing' : 'default'} data-testid="district-sync-state">
          {data.everyDay ? '已开启' : '未开启'}
        </Tag>
      </Space>
      <Descriptions column={1} size="small">
        <Descriptions.Item label="最近一次操作">
          <span data-testid="district-sync-change">{changeText(data)}</span>
        </Descriptions.Item>
        <Descriptions.Item label="自行设置每天同步的学校">
          {own.length === 0 ? '无' : `${own.map((school) => school.name).join('、')}（关闭全区开关后这些学校仍每天同步）`}
        </Descriptions.Item>
      </Descriptions>
    </Card>
  );
}
