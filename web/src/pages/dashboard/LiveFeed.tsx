import { Badge, Card, Empty, Flex, Tag, Typography } from 'antd';
import type { LiveDecision, StreamState } from '../../api/live';
import { GATE_REASONS, formatTemperature, formatTime } from '../../format';

/** The latest gate decisions, newest first, as the stream delivers them. */
export function LiveFeed({ decisions, state }: { decisions: LiveDecision[]; state: StreamState }) {
  const badge = state === 'open' ? <Badge status="processing" text="实时" /> : <Badge status="warning" text={state === 'closed' ? '实时推送未开放' : '连接中'} />;
  return (
    <Card title="实时通行" extra={badge} data-testid="live-feed">
      {decisions.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="暂无通行" style={{ padding: '48px 0' }} />
      ) : (
        decisions.map((decision) => (
          <Flex key={decision.eventId} justify="space-between" align="center" gap={8} className="fk-line">
            <div style={{ minWidth: 0 }}>
              <div className="fk-line-title">
                {decision.personName ?? '未识别人员'}
                {decision.className && <Typography.Text type="secondary"> · {decision.className}</Typography.Text>}
              </div>
              <div className="fk-line-detail">
                {formatTime(decision.occurredAt)} · {decision.deviceName} · {formatTemperature(decision.temperature)}
              </div>
            </div>
            {decision.decision === 'pass' ? <Tag color="success">通过</Tag> : <Tag color="error">{GATE_REASONS[decision.reason] ?? '拒绝'}</Tag>}
          </Flex>
        ))
      )}
    </Card>
  );
}
