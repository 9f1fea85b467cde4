import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, isOutOfAttempts, minimumRetrySpanMs, retryDelayMs } from '../../src/modules/notify/retry-policy.js';
import { classifyErrcode, classifyHttpStatus, describeErrcode, isDuplicateContentCode } from '../../src/modules/notify/dingtalk-errors.js';
import { planWorkBatches } from '../../src/modules/notify/work-batches.js';
import { planRobotSends } from '../../src/modules/notify/robot-digest.js';
import { deliveryStateOf, isRetryable, statusesOf } from '../../src/modules/notify/delivery-state.js';

describe('retry policy', () => {
  it.each([
    [1, 10_000],
    [2, 30_000],
    [3, 90_000],
    [4, 270_000],
    [5, 810_000],
    [6, 1_800_000],
    [7, 1_800_000],
  ])('waits %i attempts → %i ms without jitter', (attempts, expected) => {
    expect(retryDelayMs(attempts, DEFAULT_BACKOFF, () => 0.5)).toBe(expected);
  });

  it('spreads the delay by the jitter', () => {
    expect(retryDelayMs(2, DEFAULT_BACKOFF, () => 0)).toBe(24_000);
    expect(retryDelayMs(2, DEFAULT_BACKOFF, () => 0.999999)).toBe(36_000);
  });

  it('outlasts an hour of outage with the default 8 attempts', () => {
    expect(minimumRetrySpanMs(8)).toBeGreaterThan(60 * 60_000);
  });

  it('stops at the maximum', () => {
    expect(isOutOfAttempts(7, 8)).toBe(false);
    expect(isOutOfAttempts(8, 8)).toBe(true);
  });
});

describe('DingTalk error classes', () => {
  it.each([
    [40014, 'token'],
    [42001, 'token'],
    [130101, 'throttled'],
    [302033, 'throttled'],
    [90018, 'throttled'],
    [143103, 'throttled'],
    [310000, 'permanent'],
    [40089, 'permanent'],
    [1430000, 'permanent'],
    [-1, 'retryable'],
    [123456, 'retryable'],
  ] as const)('errcode %i is %s', (errcode, kind) => {
    expect(classifyErrcode(errcode)).toBe(kind);
  });

  it.each([
    [503, 'retryable'],
    [500, 'retryable'],
    [429, 'throttled'],
    [404, 'permanent'],
  ] as const)('HTTP %i is %s', (status, kind) => {
    expect(classifyHttpStatus(status)).toBe(kind);
  });

  it('knows the duplicate-content codes', () => {
    expect(isDuplicateContentCode('143106')).toBe(true);
    expect(isDuplicateContentCode(143206)).toBe(true);
    expect(isDuplicateContentCode('143105')).toBe(false);
    expect(isDuplicateContentCode(undefined)).toBe(false);
  });

  it('describes codes in Chinese with the code', () => {
    expect(describeErrcode(130101)).toBe('群机器人每分钟最多发送 20 条消息，发送过快（错误码 130101）');
    expect(describeErrcode(999, 'odd')).toBe('钉钉返回错误码 999：odd');
  });
});

describe('work-notice batches', () => {
  const item = (id: string, userId: string, body = '同一内容') => ({ id, userId, title: '标题', body });

  it('puts identical text for different users in one call', () => {
    const batches = planWorkBatches([item('1', 'a'), item('2', 'b'), item('3', 'c', '另一内容'), item('4', 'd')], 100);
    expect(batches.map((b) => b.itemIds)).toEqual([['1', '2', '4'], ['3']]);
    expect(batches[0].userIds).toEqual(['a', 'b', 'd']);
  });

  it('keeps a user once per call', () => {
    const batches = planWorkBatches([item('1', 'a'), item('2', 'a'), item('3', 'b')], 100);
    expect(batches.map((b) => b.itemIds)).toEqual([['1', '3'], ['2']]);
  });

  it('splits at the recipient limit', () => {
    const items = Array.from({ length: 5 }, (_, i) => item(String(i), `u${i}`));
    expect(planWorkBatches(items, 2).map((b) => b.userIds.length)).toEqual([2, 2, 1]);
  });

  it('rejects a limit below one', () => {
    expect(() => planWorkBatches([], 0)).toThrow('maxUsers must be at least 1');
  });
});

describe('robot digests', () => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `r${i}`, title: `通知 ${i}`, body: `内容 ${i}` }));

  it('sends each notice alone when the slots suffice', () => {
    const plan = planRobotSends(items(3), 5);
    expect(plan.sends.map((s) => s.isDigest)).toEqual([false, false, false]);
    expect(plan.deferredIds).toEqual([]);
  });

  it('merges when notices outnumber the slots', () => {
    const plan = planRobotSends(items(25), 2);
    expect(plan.sends).toHaveLength(1);
    expect(plan.sends[0].isDigest).toBe(true);
    expect(plan.sends[0].itemIds).toHaveLength(25);
    expect(plan.sends[0].title).toBe('汇总通知（25 条）');
    expect(plan.sends[0].markdown).toContain('#### 25. 通知 24');
  });

  it('defers what no slot can carry', () => {
    const plan = planRobotSends(items(10), 2, { maxItems: 3, maxChars: 10_000 });
    expect(plan.sends.map((s) => s.itemIds.length)).toEqual([3, 3]);
    expect(plan.deferredIds).toEqual(['r6', 'r7', 'r8', 'r9']);
  });

  it('defers everything without a free slot', () => {
    expect(planRobotSends(items(2), 0)).toEqual({ sends: [], deferredIds: ['r0', 'r1'] });
  });

  it('splits digests by size', () => {
    const long = [0, 1, 2].map((i) => ({ id: `l${i}`, title: `长通知 ${i}`, body: 'x'.repeat(500) }));
    const plan = planRobotSends(long, 1, { maxItems: 30, maxChars: 1_100 });
    expect(plan.sends[0].itemIds).toEqual(['l0', 'l1']);
    expect(plan.deferredIds).toEqual(['l2']);
  });
});

describe('delivery state', () => {
  it('maps statuses to states', () => {
    expect(deliveryStateOf('pending')).toBe('waiting');
    expect(deliveryStateOf('confirming')).toBe('waiting');
    expect(deliveryStateOf('dead')).toBe('dead');
    expect(statusesOf('waiting')).toEqual(['pending', 'sending', 'confirming']);
  });

  it('lets finished failures be retried', () => {
    expect(isRetryable('failed')).toBe(true);
    expect(isRetryable('filtered')).toBe(true);
    expect(isRetryable('sent')).toBe(false);
    expect(isRetryable('pending')).toBe(false);
  });
});
