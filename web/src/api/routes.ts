import { useQuery } from '@tanstack/react-query';
import { api } from './client';

interface OpenApiDocument {
  paths?: Record<string, Record<string, unknown>>;
}

/** 'GET /api/schools/{}/persons': the method and the path with every parameter blanked. */
function routeKey(method: string, path: string): string {
  const blanked = path.replace(/\{[^}]+\}/g, '{}').replace(/:[^/]+/g, '{}');
  return `${method.toUpperCase()} ${blanked}`;
}

/**
 * The routes the server has, read from its OpenAPI document. Pages use it to show
 * 该功能尚未开放 for a feature whose API is not there yet instead of failing requests.
 */
export function useServerRoutes() {
  return useQuery({
    queryKey: ['openapi-routes'],
    queryFn: async () => {
      const document = await api<OpenApiDocument>('/api/openapi.json');
      const keys = new Set<string>();
      for (const [path, operations] of Object.entries(document.paths ?? {})) {
        for (const method of Object.keys(operations)) keys.add(routeKey(method, path));
      }
      return keys;
    },
    staleTime: 5 * 60 * 1000,
  });
}

/**
 * The first of `candidates` ('GET /api/schools/:code/persons') the server has, or
 * undefined; `isLoading` while the route list is still being fetched.
 */
export function useRoute(...candidates: string[]): { path: string | undefined; isLoading: boolean } {
  const routes = useServerRoutes();
  if (!routes.data) return { path: undefined, isLoading: routes.isLoading };
  for (const candidate of candidates) {
    const [method, path] = candidate.split(' ', 2);
    if (routes.data.has(routeKey(method, path))) return { path, isLoading: false };
  }
  return { path: undefined, isLoading: false };
}

/** Fill ':name' parameters of a route path, encoding each value. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/:([A-Za-z_]\w*)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing route parameter "${name}" for ${path}`);
    return encodeURIComponent(value);
  });
}
