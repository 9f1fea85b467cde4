/** A group-robot notice waiting to be posted. */
export interface RobotItem {
  id: string;
  title: string;
  body: string;
}

/** One message to the group robot: a single notice, or a digest of several. */
export interface RobotSend {
  title: string;
  markdown: string;
  itemIds: string[];
  isDigest: boolean;
}

export interface RobotPlan {
  sends: RobotSend[];
  /** Notices that wait for a free slot; none is dropped. */
  deferredIds: string[];
}

export interface DigestLimits {
  /** Notices in one digest at most. */
  maxItems: number;
  /** Characters of markdown in one digest at most (a single long notice may exceed it). */
  maxChars: number;
}

/** Robot markdown messages stay well under DingTalk's message size limit with these. */
export const DEFAULT_DIGEST_LIMITS: DigestLimits = { maxItems: 30, maxChars: 8000 };

/**
 * Plan the robot messages for the due notices, given how many of the robot's per-minute
 * slots are free. When every notice fits, each is posted on its own. When there are more
 * notices than free slots, they are merged in order into digests of at most
 * `limits.maxItems` notices and `limits.maxChars` characters, one digest per free slot.
 * Notices that still do not fit wait for the next minute.
 */
export function planRobotSends(items: RobotItem[], freeSlots: number, limits: DigestLimits = DEFAULT_DIGEST_LIMITS): RobotPlan {
  if (freeSlots <= 0) return { sends: [], deferredIds: items.map((item) => item.id) };

  if (items.length <= freeSlots) {
    return { sends: items.map((item) => singleSend(item)), deferredIds: [] };
  }

  const chunks = chunkItems(items, limits);
  const sent = chunks.slice(0, freeSlots);
  const deferred = chunks.slice(freeSlots);
  return {
    sends: sent.map((chunk) => (chunk.length === 1 ? singleSend(chunk[0]) : digestSend(chunk))),
    deferredIds: deferred.flat().map((item) => item.id),
  };
}

function singleSend(item: RobotItem): RobotSend {
  return { title: item.title, markdown: item.body, itemIds: [item.id], isDigest: false };
}

function digestSend(items: RobotItem[]): RobotSend {
  const title = `汇总通知（${items.length} 条）`;
  return { title, markdown: digestMarkdown(items), itemIds: items.map((item) => item.id), isDigest: true };
}

function digestMarkdown(items: RobotItem[]): string {
  const sections = items.map((item, index) => `#### ${index + 1}. ${item.title}\n\n${item.body}`);
  return [`### 汇总通知（${items.length} 条）`, '群机器人每分钟最多发送 20 条消息，以下通知合并发送：', ...sections].join('\n\n');
}

function chunkItems(items: RobotItem[], limits: DigestLimits): RobotItem[][] {
  const chunks: RobotItem[][] = [];
  let current: RobotItem[] = [];
  let size = 0;
  for (const item of items) {
    const itemSize = item.title.length + item.body.length + 16;
    const full = current.length >= limits.maxItems || (current.length > 0 && size + itemSize > limits.maxChars);
    if (full) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += itemSize;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
