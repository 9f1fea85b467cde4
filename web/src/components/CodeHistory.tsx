import { useQuery } from '@tanstack/react-query';
import { Descriptions, Empty, Tag, Timeline, Typography } from 'antd';
import { api } from '../api/client';
import { fillPath, useRoute } from '../api/routes';
import type { CodeColor } from '../api/types';
import { CODE_COLORS, codeTagsOf, formatDateTime } from '../format';
import { ErrorAlert, Loading, NotOpen } from './common';

/** GET /api/persons/:id/code-history reply. */
interface CodeHistoryReply {
  current: { color: CodeColor; isStale: boolean; fetchedAt: number | null; reason: string | null; lastFailure: string | null };
  changes: Array<{ id: string; from: CodeColor | null; to: CodeColor; changedAt: number; bureauUpdatedAt: number | null; reason: string | null; syncRunId: string | null }>;
}

const TIMELINE_COLORS: Record<string, string> = { green: 'green', yellow: 'orange', red: 'red', unknown: 'gray' };

function ColorTag({ color }: { color: string | null }) {
  const known = CODE_COLORS[color ?? 'unknown'] ?? CODE_COLORS.unknown;
  return <Tag color={known.color}>{color === null ? '无记录' : known.label}</Tag>;
}

/** A person's current health code and every change of it, newest first, in Beijing time. */
export function CodeHistory({ personId }: { personId: string }) {
  const route = useRoute('GET /api/persons/:id/code-history');
  const history = useQuery({
    queryKey: ['code-history', personId],
    queryFn: () => api<CodeHistoryReply>(fillPath(route.path!, { id: personId })),
    enabled: route.path !== undefined,
  });
  if (route.isLoading || history.isLoading) return <Loading />;
  if (!route.path) return <NotOpen title="健康码记录" compact />;
  if (history.error) return <ErrorAlert error={history.error} />;
  const { current, changes } = history.data!;
  const newestFirst = [...changes].sort((a, b) => b.changedAt - a.changedAt);
  return (
    <div data-testid="code-history">
      <Descriptions size="small" column={1} style={{ marginBottom: 12 }}>
        <Descriptions.Item label="当前">
          {codeTagsOf(current).map((tag) => (
            <Tag key={tag.label} color={tag.color}>
              {tag.label}
            </Tag>
          ))}
        </Descriptions.Item>
        <Descriptions.Item label="最近获取">{formatDateTime(current.fetchedAt)}</Descriptions.Item>
        {current.lastFailure && (
          <Descriptions.Item label="最近失败">
            <Typography.Text type="danger">{current.lastFailure}</Typography.Text>
          </Descriptions.Item>
        )}
      </Descriptions>
      {newestFirst.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无健康码变化记录" />
      ) : (
        <Timeline
          items={newestFirst.map((change) => ({
            key: change.id,
            color: TIMELINE_COLORS[change.to] ?? 'gray',
            content: (
              <div data-testid="code-change">
                <Typography.Text strong>{formatDateTime(change.changedAt)}</Typography.Text>
                <div>
                  <ColorTag color={change.from} />→ <ColorTag color={change.to} />
                </div>
                {change.reason && <Typography.Text type="secondary">{change.reason}</Typography.Text>}
                {change.bureauUpdatedAt && <div style={{ fontSize: 12, color: '#888' }}>卫健平台更新于 {formatDateTime(change.bureauUpdatedAt)}</div>}
              </div>
            ),
          }))}
        />
      )}
    </div>
  );
}
