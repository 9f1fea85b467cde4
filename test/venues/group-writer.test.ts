import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { CheckinGroupWriter } from '../../src/modules/venues/checkin-group.js';
import { decideGroup, type CheckinDraft, type CheckinWindows } from '../../src/modules/venues/checkin-rules.js';
import { checkinWriter } from '../../src/modules/venues/checkin-writer.js';
import { createFieldCipher } from '../../src/shared/crypto.js';
import { newId } from '../../src/shared/ids.js';
import { instantOf } from '../../src/shared/time.js';
import { DIALECTS } from '../helpers/db.js';
import { buildVenue, makeUser, nextIdNumber, startVenueWorld, type VenueWorld } from './helpers.js';

const WINDOWS: CheckinWindows = { duplicateMs: 5 * 60_000, travelMs: 30 * 60_000 };
const MINUTE = 60_000;

interface Place {
  id: string;
  latitude: number | null;
  longitude: number | null;
}

/** Build a scan check-in of `idNumber` at `venue`, as recordCheckin does. */
function draftOf(ctx: AppContext, venue: Place, idNumber: string, at: number, name = '测试乘客'): CheckinDraft {
  const hash = ctx.cipher.hash(idNumber);
  return {
    row: {
      id: newId(at),
      venue_id: venue.id,
      checked_in_at: at,
      method: 'scan',
      subject_hash: hash,
      name,
      id_number_hash: hash,
      id_number_masked: `${idNumber.slice(0, 3)}***********${idNumber.slice(-4)}`,
      phone_hash: null,
      phone_masked: null,
      code_color: 'green',
      code_source: 'cache',
      code_seen: null,
      seen_color: null,
      card_id: null,
      device_id: null,
      flagged: 0,
    },
    idNumber,
    phone: null,
    venue,
  };
}

describe('check-in decisions', () => {
  const cipher = createFieldCipher(Buffer.alloc(32, 7));
  const ctx = { cipher } as AppContext;
  const bus = { id: 'bus-1', latitude: 30.27, longitude: 120.15 };
  const farBus = { id: 'bus-2', latitude: 30.5, longitude: 120.15 };
  const start = instantOf('2026-12-07', '08:00');

  it('folds a repeat within the window into the first', () => {
    const idNumber = nextIdNumber();
    const first = draftOf(ctx, bus, idNumber, start);
    const repeat = draftOf(ctx, bus, idNumber, start + 4 * MINUTE);
    const decision = decideGroup([first, repeat], [], WINDOWS, cipher);
    expect(decision.inserts).toHaveLength(1);
    expect(decision.results[1]).toMatchObject({ duplicate: true, earlier: { id: first.row.id } });
  });

  it('encrypts only the check-ins it inserts', () => {
    const idNumber = nextIdNumber();
    const decision = decideGroup([draftOf(ctx, bus, idNumber, start)], [], WINDOWS, cipher);
    const stored = decision.inserts[0].id_number_enc!;
    expect(stored).not.toContain(idNumber);
    expect(cipher.decrypt(stored)).toBe(idNumber);
  });

  it('flags a far-apart pair and keeps both', () => {
    const idNumber = nextIdNumber();
    const decision = decideGroup([draftOf(ctx, bus, idNumber, start), draftOf(ctx, farBus, idNumber, start + 5 * MINUTE)], [], WINDOWS, cipher);
    expect(decision.inserts).toHaveLength(2);
    expect(decision.inserts[1].flagged).toBe(1);
    expect(decision.flags).toHaveLength(1);
    expect(decision.flags[0].previous_checkin_id).toBe(decision.inserts[0].id);
  });
});

describe.each(DIALECTS)('check-in groups in flight on %s', (dialect) => {
  let world: VenueWorld;
  let admin: AuthUser;
  const start = instantOf('2026-12-07', '10:00');

  beforeAll(async () => {
    world = await startVenueWorld(dialect);
    admin = await makeUser(world.ctx, 'district_admin');
  });
  afterAll(async () => {
    await world?.close();
  });

  const countAt = async (venueId: string) => {
    const row = await world.ctx.db.selectFrom('venue_checkins').select((eb) => eb.fn.countAll<number>().as('n')).where('venue_id', '=', venueId).executeTakeFirstOrThrow();
    return Number(row.n);
  };

  it('folds a repeat into a group still committing', async () => {
    const venue = await buildVenue(world.ctx, admin);
    const writer = new CheckinGroupWriter(world.ctx.db, dialect, world.ctx.cipher);
    const idNumber = nextIdNumber();
    const first = draftOf(world.ctx, venue, idNumber, start);

    const firstWritten = writer.write([first], WINDOWS, start);
    const repeatWritten = writer.write([draftOf(world.ctx, venue, idNumber, start + MINUTE)], WINDOWS, start + MINUTE);
    const [a, b] = await Promise.all([firstWritten, repeatWritten]);

    expect(a.results[0].duplicate).toBe(false);
    expect(b.results[0]).toMatchObject({ duplicate: true, checkin: { id: first.row.id } });
    expect(await countAt(venue.id)).toBe(1);
  });

  it('decides again when an earlier group fails', async () => {
    const venue = await buildVenue(world.ctx, admin);
    const writer = new CheckinGroupWriter(world.ctx.db, dialect, world.ctx.cipher);
    const idNumber = nextIdNumber();
    // A NULL name violates NOT NULL, so the whole first group fails.
    const broken = draftOf(world.ctx, venue, nextIdNumber(), start, null as unknown as string);
    const lost = draftOf(world.ctx, venue, idNumber, start);
    const repeat = draftOf(world.ctx, venue, idNumber, start + MINUTE);

    const failing = writer.write([broken, lost], WINDOWS, start);
    const next = writer.write([repeat], WINDOWS, start + MINUTE);
    await expect(failing).rejects.toThrow();
    const written = await next;

    expect(written.results[0]).toMatchObject({ duplicate: false, checkin: { id: repeat.row.id } });
    const stored = await world.ctx.db.selectFrom('venue_checkins').select('id').where('venue_id', '=', venue.id).execute();
    expect(stored.map((row) => row.id)).toEqual([repeat.row.id]);
  });

  it('stores every group of many in flight', async () => {
    const venue = await buildVenue(world.ctx, admin);
    const writer = new CheckinGroupWriter(world.ctx.db, dialect, world.ctx.cipher);
    const people = Array.from({ length: 12 }, () => nextIdNumber());
    const groups = Array.from({ length: 6 }, (_, g) => people.map((idNumber, p) => draftOf(world.ctx, venue, idNumber, start + g * 10 * MINUTE + p)));

    const written = await Promise.all(groups.map((group, g) => writer.write(group, WINDOWS, start + g * 10 * MINUTE)));

    expect(written.flatMap((w) => w.results).every((result) => !result.duplicate)).toBe(true);
    expect(await countAt(venue.id)).toBe(72);
  });

  it('writes through the server writer and closes with the database', async () => {
    const venue = await buildVenue(world.ctx, admin);
    const writer = checkinWriter(world.ctx);
    await writer.ready();
    const idNumber = nextIdNumber();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => writer.submit(draftOf(world.ctx, venue, i === 0 ? idNumber : nextIdNumber(), start + i))),
    );
    const again = await writer.submit(draftOf(world.ctx, venue, idNumber, start + 2 * MINUTE));

    expect(results.filter((result) => result.duplicate)).toHaveLength(0);
    expect(again).toMatchObject({ duplicate: true, checkin: { id: results[0].checkin.id } });
    expect(await countAt(venue.id)).toBe(20);
  });
});
