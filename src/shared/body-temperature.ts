/**
 * The range of a body temperature typed by a person (class check, visitor check, re-check
 * at the observation point), in degrees Celsius. Values outside it are typing mistakes
 * (3.7, 373), not readings. A gate sensor's plausible range is a school setting instead.
 */
export const MIN_BODY_TEMPERATURE_C = 34.0;
export const MAX_BODY_TEMPERATURE_C = 43.0;
