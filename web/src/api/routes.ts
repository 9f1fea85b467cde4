import { useQuery } from '@tanstack/react-query';
import { api } from './client';

interface OpenApiOperation {
  parameters?: Array<{ name: string; in: string }>;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, OpenApiOperation>>;
}

/** 'GET /api/schools/{}/persons': the method and the path with every parameter blanked. */
function routeKey(method: string, path: string): string {
  const blanked = path.replace(/\{[^}]+\}/g, '{}').replace(/:[^/]+/g, '{}');
  return `${method.toUpperCase()} ${blanked}`;
}

/** Read the server's routes, and the query parameters of each, from its OpenAPI document. */
async function fetchServerRoutes(): Promise<Map<string, Set<string>>> {
  const document = await api<OpenApiDocument>('/api/openapi.json');
  // Route key -> names of its query parameters.
  const routes = new Map<string, Set<string>>();
  for (const [path, operations] of Object.entries(document.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const query = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      routes.set(routeKey(method, path), new Set(query));
    }
  }
  return routes;
}

/** The query of the route list; main.tsx starts it beside the session check to save a round trip. */
export const SERVER_ROUTES_QUERY = { queryKey: ['openapi-routes'], queryFn: fetchServerRoutes, staleTime: 5 * 60 * 1000 } as const;

/**
 * Read the routes the server has from its OpenAPI document. Pages use it to show
 * 该功能尚未开放 for a feature whose API is not there yet instead of failing requests.
 */
export function useServerRoutes() {
  return useQuery(SERVER_ROUTES_QUERY);
}

/**
 * Return the first of `candidates` ('GET /api/schools/:code/persons') the server has, or
 * undefined, with `isLoading` set while the route list is still being fetched.
 */
export function useRoute(...candidates: string[]): { path: string | undefined; isLoading: boolean } {
  const routes = useServerRoutes();
  if (!routes.data) return { path: undefined, isLoading: routes.isLoading };
  return { path: findRoute(routes.data, ...candidates), isLoading: false };
}

/** Return the path of the first of `candidates` in a route list that useServerRoutes read, or undefined. */
export function findRoute(routes: Map<string, Set<string>>, ...candidates: string[]): string | undefined {
  for (const candidate of candidates) {
    const [method, path] = candidate.split(' ', 2);
    if (routes.has(routeKey(method, path))) return path;
  }
  return undefined;
}

/**
 * True when the server has route `candidate` ('GET /api/schools/:code/notices') and it
 * takes the query parameter `name`; undefined while the route list is loading.
 */
export function useQueryParameter(candidate: string, name: string): boolean | undefined {
  const routes = useServerRoutes();
  if (!routes.data) return undefined;
  const [method, path] = candidate.split(' ', 2);
  return routes.data.get(routeKey(method, path))?.has(name) ?? false;
}

/** Fill ':name' parameters of a route path, encoding each value. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z_]\w*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing route parameter "${name}" for ${path}`);
    return encodeURIComponent(value);
  });
}
