import type { AppContext } from '../context.js';
import type { AuthUser } from '../modules/auth/scope.js';
import { recordCheckin } from '../modules/venues/checkin.js';
import { venueCodeLookup } from '../modules/venues/code-lookup.js';
import { createVenues, type NewVenue } from '../modules/venues/service.js';
import * as venueStore from '../modules/venues/store.js';
import { makeIdNumber, makeName } from '../shared/synthetic.js';
import { instantOf, schoolDay } from '../shared/time.js';

/** The demo's district actor for venue registration; no account signs in as it. */
const DEMO_VENUE_ACTOR: AuthUser = { id: 'demo-venues', username: 'demo-venues', displayName: '演示数据', role: 'district_admin', schoolId: null, classId: null, personId: null, sessionId: 'demo' };

/** Five buses of line K101 and two shops near the demo school, with Hangzhou coordinates. */
const DEMO_VENUES: NewVenue[] = [
  ...[1, 2, 3, 4, 5].map((n) => ({ kind: 'bus', name: `K101-${n} 号车`, operator: '示范区公交公司', line: 'K101', plate: `浙A·1010${n}`, latitude: 30.27 + n / 1000, longitude: 120.15 })),
  { kind: 'shop', name: '城东菜场', operator: '城东菜场管理处', address: '示范区城东路 18 号', latitude: 30.281, longitude: 120.162 },
  { kind: 'shop', name: '学府路便利店', operator: '学府路便利店', address: '示范区学府路 6 号', latitude: 30.276, longitude: 120.149 },
];

/** Synthetic passengers of the demo check-ins; seeds far from the school's pupils. */
const PASSENGER_SEEDS = Array.from({ length: 24 }, (_, i) => 900_000 + i);

/**
 * Register the demo venues once and record this morning's check-ins on them: 24
 * synthetic passengers ride K101 between 06:30 and 08:00 and some of them shop on the
 * way, so a task-force user has a line to trace. Their codes are put in the check-in
 * cache as green first, so seeding needs no bureau. Returns the check-ins recorded.
 */
export async function seedDemoVenues(ctx: AppContext): Promise<number> {
  const existing = await ctx.db.selectFrom('venues').select('id').where('operator', '=', '示范区公交公司').executeTakeFirst();
  if (existing) return 0;

  const views = await createVenues(ctx, DEMO_VENUE_ACTOR, DEMO_VENUES);
  const venues = await Promise.all(views.map((view) => venueStore.findVenue(ctx.db, view.id)));
  const buses = venues.filter((v) => v?.kind === 'bus');
  const shops = venues.filter((v) => v?.kind === 'shop');

  const day = schoolDay(ctx.now());
  const lookup = venueCodeLookup(ctx);
  let recorded = 0;
  for (const [index, seed] of PASSENGER_SEEDS.entries()) {
    const identity = { name: makeName(seed), idNumber: makeIdNumber(seed, `19${70 + (index % 25)}-0${1 + (index % 9)}-1${index % 10}`) };
    lookup.remember(ctx.cipher.hash(identity.idNumber), 'green');

    const boardedAt = Math.min(ctx.now(), instantOf(day, '06:30') + index * 4 * 60_000);
    const bus = buses[index % buses.length]!;
    await recordCheckin({ ...ctx, now: () => boardedAt }, { venue: bus, method: 'scan', identity });
    recorded += 1;
    if (index % 3 === 0) {
      const shop = shops[index % shops.length]!;
      const shoppedAt = Math.min(ctx.now(), boardedAt + 25 * 60_000);
      await recordCheckin({ ...ctx, now: () => shoppedAt }, { venue: shop, method: 'scan', identity });
      recorded += 1;
    }
  }
  return recorded;
}
