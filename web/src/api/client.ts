/** An error reply of the API: `message` is the Chinese text to show. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const CSRF_COOKIE = 'fk_csrf';

/** Read the CSRF token the server set at sign-in; empty before sign-in. */
export function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CSRF_COOKIE) return decodeURIComponent(value.join('='));
  }
  return '';
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: { error?: string; message?: string; details?: unknown } = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  const fallback = response.status >= 500 ? '服务器暂时无法处理请求，请稍后重试' : `请求失败（HTTP ${response.status}）`;
  return new ApiError(response.status, body.error ?? 'HTTP_ERROR', body.message ?? fallback, body.details);
}

/**
 * Call the JSON API. Every method but GET carries the CSRF token; an error reply becomes
 * an ApiError with the server's Chinese message.
 */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const method = init.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';

  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'NETWORK', '无法连接服务器，请检查网络后重试');
  }
  if (!response.ok) throw await toApiError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/**
 * Upload a file as multipart/form-data and report progress from 0 to 100. XMLHttpRequest
 * is used because fetch has no upload progress events.
 */
export function uploadFile<T>(path: string, field: string, file: File, onProgress: (percent: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('X-CSRF-Token', csrfToken());
    request.setRequestHeader('Accept', 'application/json');
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(Math.round((event.loaded / event.total) * 100));
    };
    request.onerror = () => reject(new ApiError(0, 'NETWORK', '上传失败：无法连接服务器'));
    request.onload = () => {
      let body: { error?: string; message?: string; details?: unknown } & Record<string, unknown> = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        body = {};
      }
      if (request.status >= 200 && request.status < 300) {
        onProgress(100);
        resolve(body as T);
      } else {
        reject(new ApiError(request.status, body.error ?? 'HTTP_ERROR', body.message ?? `上传失败（HTTP ${request.status}）`, body.details));
      }
    };
    const form = new FormData();
    form.append(field, file, file.name);
    request.send(form);
  });
}
