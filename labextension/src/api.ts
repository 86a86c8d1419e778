/**
 * The astro-ops REST API and live-feed URL, through JupyterLab's `ServerConnection` only.
 *
 * Every URL is built from `settings.baseUrl` / `settings.wsUrl`, so the extension works under
 * any `base_url` and behind JupyterHub; `ServerConnection.makeRequest` adds the token or the
 * XSRF header exactly as JupyterLab's own calls do. Non-2xx answers become `AstroOpsError`
 * carrying the server's `{message, reason, details}`.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  IDashboard,
  IEvent,
  IJob,
  IJobCreate,
  IKernelToken,
  ILsOut,
  IMe,
  IMethods,
  IRoot
} from './types';

export const API_PATH = 'astro-ops/api/v1';

/** A refused or failed call, with the server's message (what the user is shown). */
export class AstroOpsError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string = 'error',
    readonly details: unknown = null
  ) {
    super(message);
    this.name = 'AstroOpsError';
  }
}

export class AstroOpsClient {
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** `path` is relative to `<base_url>astro-ops/api/v1/`; each segment already encoded. */
  async request<T>(
    path: string,
    init: RequestInit = {},
    query: { [key: string]: string } = {}
  ): Promise<T> {
    const qs = URLExt.objectToQueryString(query);
    const url =
      URLExt.join(this.serverSettings.baseUrl, API_PATH, path) +
      (Object.keys(query).length ? qs : '');
    const headers = new Headers(init.headers);
    if (init.body !== undefined && !headers.has('Content-Type')) {
      headers.set('Content-Type', 'application/json');
    }
    let response: Response;
    try {
      // 'no-cache', not JupyterLab's default 'no-store': that appends a `?<timestamp>`
      // cache buster, which the API's strict query models refuse (400 "Extra inputs").
      // The browser still revalidates every answer with the server.
      response = await ServerConnection.makeRequest(
        url,
        { cache: 'no-cache', ...init, headers },
        this.serverSettings
      );
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    let body: any = null;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) {
      const message =
        body && typeof body === 'object' && typeof body.message === 'string'
          ? body.message
          : `${response.status} ${response.statusText}`;
      throw new AstroOpsError(
        response.status,
        message,
        body?.reason ?? 'error',
        body?.details ?? null
      );
    }
    return body as T;
  }

  /** `ws(s)://.../astro-ops/api/v1/live`, with the token when JupyterLab appends one. */
  liveUrl(): string {
    const settings = this.serverSettings;
    let url = URLExt.join(settings.wsUrl, API_PATH, 'live');
    if (settings.appendToken && settings.token) {
      url += `?token=${encodeURIComponent(settings.token)}`;
    }
    return url;
  }

  me(): Promise<IMe> {
    return this.request<IMe>('me');
  }

  dashboards(): Promise<IDashboard[]> {
    return this.request<IDashboard[]>('dashboards');
  }

  roots(): Promise<IRoot[]> {
    return this.request<IRoot[]>('staging/roots');
  }

  ls(root: string, path: string): Promise<ILsOut> {
    return this.request<ILsOut>(
      `staging/roots/${encodeURIComponent(root)}/ls`,
      {},
      path ? { path } : {}
    );
  }

  methods(): Promise<IMethods> {
    return this.request<IMethods>('staging/methods');
  }

  jobs(status: string[] = []): Promise<IJob[]> {
    return this.request<IJob[]>(
      'staging/jobs',
      {},
      status.length ? { status: status.join(',') } : {}
    );
  }

  createJob(job: IJobCreate): Promise<IJob> {
    return this.request<IJob>('staging/jobs', {
      method: 'POST',
      body: JSON.stringify(job)
    });
  }

  cancelJob(id: string): Promise<IJob> {
    return this.request<IJob>(`staging/jobs/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  requests(): Promise<IEvent[]> {
    return this.request<IEvent[]>('requests');
  }

  kernelToken(kernelId: string): Promise<IKernelToken> {
    return this.request<IKernelToken>('kernel-tokens', {
      method: 'POST',
      body: JSON.stringify({ kernel_id: kernelId })
    });
  }
}
