/** A work notice due for one DingTalk user. */
export interface WorkItem {
  id: string;
  userId: string;
  title: string;
  body: string;
}

/** One asyncsend_v2 call: the same text to up to `maxUsers` distinct users. */
export interface WorkBatch {
  title: string;
  body: string;
  userIds: string[];
  itemIds: string[];
}

/**
 * Group due work notices into sends. Notices with identical title and text go out in one
 * call to many users. A user appears at most once per call, so a second notice with the
 * same text to the same user gets its own call, where DingTalk's same-day filter applies.
 * The order of the input is kept inside each batch.
 */
export function planWorkBatches(items: WorkItem[], maxUsers: number): WorkBatch[] {
  if (maxUsers < 1) throw new Error(`maxUsers must be at least 1, got ${maxUsers}`);

  const byText = new Map<string, WorkBatch[]>();
  const batches: WorkBatch[] = [];
  for (const item of items) {
    const key = JSON.stringify([item.title, item.body]);
    let candidates = byText.get(key);
    if (!candidates) {
      candidates = [];
      byText.set(key, candidates);
    }

    let batch = candidates.find((b) => b.userIds.length < maxUsers && !b.userIds.includes(item.userId));
    if (!batch) {
      batch = { title: item.title, body: item.body, userIds: [], itemIds: [] };
      candidates.push(batch);
      batches.push(batch);
    }
    batch.userIds.push(item.userId);
    batch.itemIds.push(item.id);
  }
  return batches;
}
