import type { Kysely } from 'kysely';

/**
 * Store every bus line in the normalised form that saving a venue now writes: half-width,
 * without whitespace, without one trailing 路 or 线, Latin letters upper case. A line typed
 * as "K101路" was shown as "K101路路" and missed by a trace of line "K101". Lines are
 * compared with `=` in SQL (venue list, line posters, tracing), so rewriting the rows once
 * keeps those queries simple; normalising at read would need this rule in both SQL dialects.
 *
 * The rule is copied from normalizeBusLine in src/modules/venues/bus-fields.ts as it stood
 * when this migration was written, so a later change there does not change what it did.
 * A line that would become empty (just "路") is left as it is.
 */
function normalizedLine(text: string): string {
  return text
    .replace(/[\uff01-\uff5e]/g, (char) => String.fromCharCode(char.charCodeAt(0) - 0xfee0))
    .replace(/\s+/g, '')
    .replace(/[路线]$/, '')
    .replace(/[a-z]/g, (letter) => letter.toUpperCase());
}

export async function up(db: Kysely<any>): Promise<void> {
  const rows: Array<{ id: string; line: string }> = await db.selectFrom('venues').select(['id', 'line']).where('line', 'is not', null).execute();
  for (const row of rows) {
    const line = normalizedLine(row.line);
    if (line && line !== row.line) await db.updateTable('venues').set({ line }).where('id', '=', row.id).execute();
  }
}

/** Nothing to undo: the original spelling is not kept, and the normalised line names the same bus line. */
export async function down(): Promise<void> {}
