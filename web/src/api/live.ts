import { useEffect, useRef, useState } from 'react';
import { useQueryClient, type QueryKey } from '@tanstack/react-query';
import { fillPath, useRoute } from './routes';

/** One gate decision as GET /api/schools/:code/gate/stream sends it (event "decision"). */
export type { LiveDecision } from '../../../src/modules/gate/live.js';
/** A change to the pupils present without a gate pass, such as a saved class check (event "presence"). */
export type { LivePresenceChange } from '../../../src/modules/gate/live.js';
import type { LiveDecision, LivePresenceChange } from '../../../src/modules/gate/live.js';

/** 'connecting' until the stream opens, 'open' while it delivers, 'closed' when the server has no stream route. */
export type StreamState = 'connecting' | 'open' | 'retrying' | 'closed';

interface SharedStream {
  source: EventSource;
  state: StreamState;
  listeners: Set<(decision: LiveDecision) => void>;
  presenceListeners: Set<(change: LivePresenceChange) => void>;
  stateListeners: Set<(state: StreamState) => void>;
}

/** One EventSource per stream URL, shared by every component of the page that follows it. */
const streams = new Map<string, SharedStream>();

function openShared(url: string): SharedStream {
  const existing = streams.get(url);
  if (existing) return existing;

  const source = new EventSource(url);
  const shared: SharedStream = { source, state: 'connecting', listeners: new Set(), presenceListeners: new Set(), stateListeners: new Set() };
  const setState = (state: StreamState) => {
    shared.state = state;
    for (const listener of shared.stateListeners) listener(state);
  };
  source.onopen = () => setState('open');
  source.onerror = () => setState(source.readyState === EventSource.CLOSED ? 'closed' : 'retrying');
  source.addEventListener('decision', (event) => {
    let decision: LiveDecision;
    try {
      decision = JSON.parse((event as MessageEvent<string>).data) as LiveDecision;
    } catch {
      // A malformed message is skipped; the next refetch shows the record anyway.
      return;
    }
    for (const listener of shared.listeners) listener(decision);
  });
  source.addEventListener('presence', (event) => {
    let change: LivePresenceChange;
    try {
      change = JSON.parse((event as MessageEvent<string>).data) as LivePresenceChange;
    } catch {
      // A malformed message is skipped, as for decisions.
      return;
    }
    for (const listener of shared.presenceListeners) listener(change);
  });
  streams.set(url, shared);
  return shared;
}

function releaseShared(url: string, shared: SharedStream): void {
  if (shared.listeners.size > 0 || shared.presenceListeners.size > 0 || shared.stateListeners.size > 0) return;
  shared.source.close();
  streams.delete(url);
}

/**
 * Follow a school's live gate decisions, and optionally its presence changes, over
 * server-sent events. Components of one page share a connection. The browser's
 * EventSource reconnects by itself after a drop (the server sets 3 s), and the returned
 * state shows whether the view is live. The handlers may change between renders. Pass no
 * school code to stay disconnected.
 */
export function useGateStream(
  schoolCode: string | undefined,
  onDecision: (decision: LiveDecision) => void,
  onPresenceChange?: (change: LivePresenceChange) => void,
): StreamState {
  const route = useRoute('GET /api/schools/:code/gate/stream');
  const [state, setState] = useState<StreamState>('connecting');
  const handler = useRef(onDecision);
  handler.current = onDecision;
  const presenceHandler = useRef(onPresenceChange);
  presenceHandler.current = onPresenceChange;

  useEffect(() => {
    if (!schoolCode || route.isLoading) return;
    if (!route.path) {
      setState('closed');
      return;
    }
    const url = fillPath(route.path, { code: schoolCode });
    const shared = openShared(url);
    const listener = (decision: LiveDecision) => handler.current(decision);
    const presenceListener = (change: LivePresenceChange) => presenceHandler.current?.(change);
    shared.listeners.add(listener);
    shared.presenceListeners.add(presenceListener);
    shared.stateListeners.add(setState);
    setState(shared.state);
    return () => {
      shared.listeners.delete(listener);
      shared.presenceListeners.delete(presenceListener);
      shared.stateListeners.delete(setState);
      releaseShared(url, shared);
    };
  }, [schoolCode, route.isLoading, route.path]);

  return state;
}

/**
 * Refetch the given queries after live decisions, at most once per `intervalMs`, so a
 * busy morning at the gate does not turn into one request per pupil.
 */
export function useThrottledInvalidate(keys: QueryKey[], intervalMs = 2000): () => void {
  const client = useQueryClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const latestKeys = useRef(keys);
  latestKeys.current = keys;

  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  return () => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = null;
      for (const queryKey of latestKeys.current) void client.invalidateQueries({ queryKey });
    }, intervalMs);
  };
}
