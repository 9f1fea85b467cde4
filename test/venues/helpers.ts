import { loadConfig, type Config } from '../../src/config.js';
import type { AppContext } from '../../src/context.js';
import type { DialectName } from '../../src/db/connection.js';
import { csrfTokenFor } from '../../src/modules/auth/plugin.js';
import type { AuthUser } from '../../src/modules/auth/scope.js';
import { createUser, login } from '../../src/modules/auth/service.js';
import type { UserRole } from '../../src/db/schema.js';
import { closeBureauClient } from '../../src/modules/healthcode/service.js';
import { venueCodeLookup } from '../../src/modules/venues/code-lookup.js';
import { createVenues, type NewVenue } from '../../src/modules/venues/service.js';
import { makeIdNumber } from '../../src/shared/synthetic.js';
import { startBureauSimulator, type BureauSimulator } from '../../tools/simulators/bureau.js';
import { createTestDb, type TestDb } from '../helpers/db.js';

export const APP_KEY = 'venue-test';
export const APP_SECRET = 'venue-test-secret';

export interface VenueWorld {
  t: TestDb;
  ctx: AppContext;
  bureau: BureauSimulator;
  close(): Promise<void>;
}

/**
 * Start a fresh database of the dialect and a bureau simulator on loopback. The bureau
 * client tries once and the check-in deadline is short, so a bureau outage shows at once.
 */
export async function startVenueWorld(dialect: DialectName, venues: Partial<Config['venues']> = {}): Promise<VenueWorld> {
  const bureau = await startBureauSimulator({ appKey: APP_KEY, appSecret: APP_SECRET });
  const base = loadConfig({});
  const t = await createTestDb(dialect, {
    bureau: { ...base.bureau, url: bureau.url, appKey: APP_KEY, appSecret: APP_SECRET, concurrency: 2, requestsPerSecond: 500, timeoutMs: 300, maxAttempts: 1 },
    venues: { ...base.venues, publicUrl: 'https://fk.example.cn', bureauDeadlineMs: 1000, ...venues },
  });
  return {
    t,
    ctx: t.ctx,
    bureau,
    close: async () => {
      await venueCodeLookup(t.ctx).drain();
      await closeBureauClient(t.ctx);
      await bureau.close();
      await t.close();
    },
  };
}

let users = 0;

/** Create an account of the role and return it as the signed-in user services expect. */
export async function makeUser(ctx: AppContext, role: UserRole, schoolCode?: string): Promise<AuthUser> {
  users += 1;
  const username = `venue${role.replace('_', '')}${users}${Date.now() % 100000}`;
  const user = await createUser(ctx, { username, displayName: `测试${users}`, role, schoolCode, password: 'venue-test-password' }, null);
  return { id: user.id, username, displayName: user.displayName, role, schoolId: user.schoolId, classId: null, personId: null, sessionId: 'test' };
}

/** Sign an account in and return the headers for app.inject. */
export async function signInAs(ctx: AppContext, user: AuthUser): Promise<Record<string, string>> {
  const { token } = await login(ctx, { username: user.username, password: 'venue-test-password' });
  const csrf = csrfTokenFor(ctx, token);
  return { cookie: `fk_session=${token}; fk_csrf=${csrf}`, 'x-csrf-token': csrf };
}

let idSeed = 100;

/** Return a synthetic ID number that no other test of this run uses. */
export function nextIdNumber(): string {
  idSeed += 1;
  const day = new Date(Date.UTC(1960, 0, 1) + (idSeed % 20000) * 86_400_000).toISOString().slice(0, 10);
  return makeIdNumber(idSeed, day);
}

let vehicles = 0;

/**
 * Create a bus of line K101 with coordinates in Hangzhou, or another venue from `overrides`.
 * Each bus gets its own name and plate unless `overrides` sets them, because an active
 * venue may not repeat another's plate, or its kind, name, address and operator.
 */
export async function buildVenue(ctx: AppContext, admin: AuthUser, overrides: Partial<NewVenue> = {}) {
  vehicles += 1;
  const vehicle = { name: `测试车 ${vehicles} 号`, plate: `浙T·${String(vehicles).padStart(5, '0')}` };
  const [venue] = await createVenues(ctx, admin, [{ kind: 'bus', ...vehicle, operator: '杭州公交集团', line: 'K101', latitude: 30.27, longitude: 120.15, ...overrides }]);
  return venue;
}
