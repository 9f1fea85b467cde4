/**
 * Far-apart check-ins: one ID number at two venues further apart than anyone could
 * travel in the minutes between. Such a pair is flagged for review, never rejected,
 * because shared or mistyped ID numbers are common and the person in front of the
 * driver is not at fault.
 */

export interface Place {
  latitude: number;
  longitude: number;
}

export interface TravelRule {
  /** Pairs closer than this many metres are never flagged (neighbouring stops, one mall). */
  minDistanceM: number;
  /** Faster than this, in km/h, counts as impossible; city buses and cars stay well below it. */
  maxSpeedKmh: number;
}

export const DEFAULT_TRAVEL_RULE: TravelRule = { minDistanceM: 3000, maxSpeedKmh: 120 };

const EARTH_RADIUS_M = 6_371_000;

/** Great-circle distance in metres (haversine). */
export function distanceMeters(a: Place, b: Place): number {
  const toRad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = toRad(b.latitude - a.latitude);
  const dLon = toRad(b.longitude - a.longitude);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a.latitude)) * Math.cos(toRad(b.latitude)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface TravelVerdict {
  flagged: boolean;
  distanceM: number;
  minutes: number;
}

/**
 * Decide whether getting from `from` at `fromAt` to `to` at `toAt` (epoch ms) needs an
 * impossible speed. Check-ins at the same instant and a long way apart are flagged too.
 */
export function checkTravel(from: Place, fromAt: number, to: Place, toAt: number, rule: TravelRule = DEFAULT_TRAVEL_RULE): TravelVerdict {
  const distanceM = Math.round(distanceMeters(from, to));
  const minutes = Math.abs(toAt - fromAt) / 60_000;
  if (distanceM < rule.minDistanceM) return { flagged: false, distanceM, minutes };
  const hours = minutes / 60;
  const speedKmh = hours === 0 ? Number.POSITIVE_INFINITY : distanceM / 1000 / hours;
  return { flagged: speedKmh > rule.maxSpeedKmh, distanceM, minutes };
}
