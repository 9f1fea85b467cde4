import type { ReactNode } from 'react';
import { Alert, Card, Empty, Flex, Spin, Typography } from 'antd';
import { ApiError } from '../api/client';

/** Empty state for a feature whose API the server does not offer yet; `compact` for phone pages. */
export function NotOpen({ title, compact = false }: { title?: string; compact?: boolean }) {
  return (
    <Card title={title} size={compact ? 'small' : undefined} data-testid="not-open">
      <Empty image={compact ? Empty.PRESENTED_IMAGE_SIMPLE : undefined} description="该功能尚未开放" />
    </Card>
  );
}

/**
 * Render notice text written in DingTalk markdown: **bold** spans and '#' headings become
 * bold, and list markers stay as they are.
 */
export function MarkdownText({ text }: { text: string }) {
  const parts = text.replace(/^#{1,6}\s+(.+)$/gm, '**$1**').split('**');
  return (
    <span style={{ whiteSpace: 'pre-line' }}>
      {parts.map((part, index) => (index % 2 === 1 && index < parts.length - 1 ? <strong key={index}>{part}</strong> : <span key={index}>{part}</span>))}
    </span>
  );
}

/** Page title with optional actions on the right; wraps under the title on phones. */
export function PageTitle({ title, extra }: { title: string; extra?: ReactNode }) {
  return (
    <Flex justify="space-between" align="center" wrap gap={12} style={{ marginBottom: 16 }}>
      <Typography.Title level={4} style={{ margin: 0 }}>
        {title}
      </Typography.Title>
      {extra}
    </Flex>
  );
}

/** A failed request's Chinese message. */
export function ErrorAlert({ error }: { error: unknown }) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : '加载失败';
  return <Alert type="error" showIcon title={message} style={{ marginBottom: 16 }} />;
}

export function Loading() {
  return (
    <Flex justify="center" style={{ padding: 48 }}>
      <Spin />
    </Flex>
  );
}
