/**
 * Calls to the server extension's REST API (`<base_url>opencrate/api/`).
 *
 * `ServerConnection.makeRequest` adds the token and the XSRF header; media elements
 * load `rawUrl` with the login cookie the page already has.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { TreeResponse } from './model';
import type { ITree } from './tree';

const API_PATH = 'opencrate/api';

/** GET (or `method`) a route; `params` as pairs when a key repeats (`ignore=a&ignore=b`). */
export async function send(
  route: string,
  params: Record<string, string> | [string, string][],
  headers: Record<string, string> = {},
  method = 'GET'
): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, API_PATH, route) +
    (Array.isArray(params)
      ? `?${new URLSearchParams(params).toString()}`
      : URLExt.objectToQueryString(params));
  try {
    // no-store: the browser neither caches nor revalidates by itself; If-None-Match is ours
    return await ServerConnection.makeRequest(
      url,
      { cache: 'no-store', headers, method },
      settings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
}

export async function parse<T>(response: Response): Promise<T> {
  const text = await response.text();
  let data: unknown = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message below
    }
  }
  if (!response.ok) {
    const message =
      data && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : String(data);
    throw new ServerConnection.ResponseError(response, message);
  }
  return data as T;
}

/** `GET tree` with `If-None-Match: etag`: 304 while the tree is unchanged. */
export async function fetchTree(etag: string | null): Promise<TreeResponse> {
  const response = await send(
    'tree',
    {},
    etag ? { 'If-None-Match': etag } : {}
  );
  if (response.status === 304) {
    return { status: 304 };
  }
  const tree = await parse<ITree>(response);
  return { status: 200, etag: response.headers.get('ETag'), tree };
}

/** GET (or `method`) an API route and parse its JSON; a failure throws with the server's message. */
export async function requestAPI<T>(
  route: string,
  params: Record<string, string> = {},
  method = 'GET'
): Promise<T> {
  return parse<T>(await send(route, params, {}, method));
}

/** The URL that streams a file's content (for img, audio and video elements). */
export function rawUrl(path: string, root = ''): string {
  const settings = ServerConnection.makeSettings();
  return (
    URLExt.join(settings.baseUrl, API_PATH, 'file') +
    URLExt.objectToQueryString({ path, raw: '1', ...(root ? { root } : {}) })
  );
}
