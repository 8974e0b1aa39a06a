/**
 * Calls to the server extension's REST API (`<base_url>opencrate/api/`).
 *
 * `ServerConnection.makeRequest` adds the token and the XSRF header; media elements
 * load `rawUrl` with the login cookie the page already has.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

const API_PATH = 'opencrate/api';

/** GET an API route and parse its JSON; a failure throws with the server's message. */
export async function requestAPI<T>(
  route: string,
  params: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url =
    URLExt.join(settings.baseUrl, API_PATH, route) +
    URLExt.objectToQueryString(params);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(
      url,
      { cache: 'no-store' },
      settings
    );
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = text;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      // not JSON: keep the text for the message below
    }
  }
  if (!response.ok) {
    const message = data && data.message ? data.message : String(data);
    throw new ServerConnection.ResponseError(response, message);
  }
  return data as T;
}

/** The URL that streams a file's content (for img, audio and video elements). */
export function rawUrl(path: string): string {
  const settings = ServerConnection.makeSettings();
  return (
    URLExt.join(settings.baseUrl, API_PATH, 'file') +
    URLExt.objectToQueryString({ path, raw: '1' })
  );
}
