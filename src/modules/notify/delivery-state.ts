import type { OutboxStatus } from '../../db/schema.js';

/**
 * Delivery state as the console shows it. 'waiting' covers every row still in the
 * dispatcher's hands: queued, being sent, or handed to DingTalk with the send result not
 * read yet.
 */
export type DeliveryState = 'waiting' | 'sent' | 'filtered' | 'failed' | 'dead';

export const DELIVERY_STATES: readonly DeliveryState[] = ['waiting', 'sent', 'filtered', 'failed', 'dead'];

export const DELIVERY_STATE_LABELS: Record<DeliveryState, string> = {
  waiting: '等待发送',
  sent: '已送达',
  filtered: '被钉钉过滤',
  failed: '无法送达',
  dead: '已放弃',
};

const STATE_OF_STATUS: Record<OutboxStatus, DeliveryState> = {
  pending: 'waiting',
  sending: 'waiting',
  confirming: 'waiting',
  sent: 'sent',
  filtered: 'filtered',
  failed: 'failed',
  dead: 'dead',
};

export function isDeliveryState(value: string): value is DeliveryState {
  return (DELIVERY_STATES as readonly string[]).includes(value);
}

export function deliveryStateOf(status: OutboxStatus): DeliveryState {
  return STATE_OF_STATUS[status];
}

/** Return the outbox statuses that make up a delivery state, for filtering. */
export function statusesOf(state: DeliveryState): OutboxStatus[] {
  return (Object.keys(STATE_OF_STATUS) as OutboxStatus[]).filter((status) => STATE_OF_STATUS[status] === state);
}

/** True for a finished notice that an admin may send again. */
export function isRetryable(status: OutboxStatus): boolean {
  return status === 'failed' || status === 'dead' || status === 'filtered';
}
