/**
 * Draws the server's file summary (`GET file?path=`) in the panel: media through
 * `rawUrl`, tables, JSON and text as text nodes. Names and contents are never parsed
 * as HTML. Sizes, times and cells are shown as the server rendered them.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { rawUrl } from './request';
import { IArtifact } from './tree';

export interface IFileSummary {
  path: string;
  /** the base of the snapshot root the file is in ("" for the configured root); set by the panel */
  root?: string;
  name: string;
  kind: string;
  is_dir: boolean;
  size: number;
  size_text: string;
  modified: string;
  modified_text: string;
  mime: string;
  describe: Record<string, unknown>;
  preview: {
    type: string;
    text?: string;
    truncated?: boolean;
    columns?: string[];
    rows?: string[][];
    total_rows?: number | null;
    files?: string[];
    mime?: string;
    note?: string;
  };
}

export interface IPreviewLimits {
  /** media larger than this wait for a click before loading */
  mediaAutoLoadBytes: number;
}

/** `document.createElement` with a class and text content. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text: string | null = null
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== null) {
    node.textContent = text;
  }
  return node;
}

function facts(rows: Array<[string, string]>): HTMLElement {
  const list = el('dl', 'opencrate-facts');
  for (const [label, value] of rows) {
    list.append(el('dt', '', label), el('dd', '', value));
  }
  return list;
}

function scalar(value: unknown): string | null {
  if (value === null || value === undefined) {
    return null;
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : value.toFixed(3);
  }
  if (typeof value === 'string' || typeof value === 'boolean') {
    return String(value);
  }
  if (Array.isArray(value) && value.every(v => typeof v !== 'object')) {
    const shown = value.slice(0, 12).join(', ');
    return value.length > 12 ? `${shown}, … (${value.length})` : shown;
  }
  return null;
}

/** The handler's summary (shape, duration, keys...) minus what the body shows anyway. */
function describeFacts(info: Record<string, unknown>): Array<[string, string]> {
  const skip = new Set(['head', 'text', 'size', 'files']);
  const rows: Array<[string, string]> = [];
  const scalars = info['scalars'];
  const entries = Object.entries(info).filter(([key]) => key !== 'scalars');
  if (scalars && typeof scalars === 'object' && !Array.isArray(scalars)) {
    entries.push(...Object.entries(scalars as Record<string, unknown>));
  }
  for (const [key, value] of entries) {
    const text = skip.has(key) ? null : scalar(value);
    if (text !== null) {
      rows.push([key.replace(/_/g, ' '), text]);
    }
  }
  return rows;
}

function tensorTable(
  info: Record<string, unknown>,
  trans: TranslationBundle
): HTMLElement | null {
  const tensors = info['tensors'];
  if (!Array.isArray(tensors) || tensors.length === 0) {
    return null;
  }
  const table = el('table', 'opencrate-table');
  const head = table.createTHead().insertRow();
  for (const title of [
    trans.__('tensor'),
    trans.__('shape'),
    trans.__('dtype')
  ]) {
    head.append(el('th', '', title));
  }
  const body = table.createTBody();
  for (const tensor of tensors.slice(0, 200)) {
    const row = body.insertRow();
    const item = (tensor ?? {}) as Record<string, unknown>;
    const shape = Array.isArray(item['shape'])
      ? `[${(item['shape'] as unknown[]).join(', ')}]`
      : String(item['shape'] ?? '');
    for (const cell of [
      String(item['name'] ?? ''),
      shape,
      String(item['dtype'] ?? '')
    ]) {
      row.insertCell().textContent = cell;
    }
  }
  return table;
}

function table(columns: string[], rows: string[][]): HTMLElement {
  const node = el('table', 'opencrate-table');
  const head = node.createTHead().insertRow();
  for (const column of columns) {
    head.append(el('th', '', column));
  }
  const body = node.createTBody();
  for (const values of rows) {
    const row = body.insertRow();
    for (const value of values) {
      row.insertCell().textContent = value;
    }
  }
  return node;
}

function media(
  summary: IFileSummary,
  limits: IPreviewLimits,
  trans: TranslationBundle
): HTMLElement {
  const holder = el('div', 'opencrate-media');
  const load = () => {
    holder.textContent = '';
    const url = rawUrl(summary.path, summary.root ?? '');
    const type = summary.preview.type;
    if (type === 'audio' || type === 'video') {
      const player = el(type, 'opencrate-player');
      player.controls = true;
      player.preload = 'metadata';
      player.src = url;
      holder.append(player);
    } else {
      const image = el('img', 'opencrate-image');
      image.alt = summary.name;
      image.src = url;
      holder.append(image);
    }
  };
  if (summary.size <= limits.mediaAutoLoadBytes) {
    load();
  } else {
    const button = el(
      'button',
      'jp-Button jp-mod-styled opencrate-load-media',
      trans.__('Load %1', summary.size_text)
    );
    button.addEventListener('click', load);
    holder.append(button);
  }
  return holder;
}

function body(
  summary: IFileSummary,
  limits: IPreviewLimits,
  trans: TranslationBundle
): HTMLElement | null {
  const preview = summary.preview;
  switch (preview.type) {
    case 'image':
    case 'gif':
    case 'audio':
    case 'video':
      return media(summary, limits, trans);
    case 'table': {
      const wrap = el('div', 'opencrate-table-wrap');
      wrap.append(table(preview.columns ?? [], preview.rows ?? []));
      if (preview.truncated) {
        const shown = preview.rows?.length ?? 0;
        const note =
          preview.total_rows === null || preview.total_rows === undefined
            ? trans.__('the first %1 rows (and columns) only', shown)
            : trans.__('the first %1 of %2 rows', shown, preview.total_rows);
        wrap.append(el('div', 'opencrate-note', note));
      }
      return wrap;
    }
    case 'checkpoint':
      return tensorTable(summary.describe, trans);
    case 'json':
    case 'text':
    case 'log': {
      const pre = el(
        'pre',
        `opencrate-text opencrate-${preview.type}`,
        preview.text ?? ''
      );
      if (!preview.truncated && !preview.note) {
        return pre;
      }
      const wrap = el('div');
      wrap.append(pre);
      if (preview.note) {
        wrap.append(el('div', 'opencrate-note', preview.note));
      }
      if (preview.truncated) {
        wrap.append(
          el(
            'div',
            'opencrate-note',
            trans.__('truncated: open it for the rest')
          )
        );
      }
      return wrap;
    }
    case 'files': {
      const list = el('ul', 'opencrate-files');
      for (const file of preview.files ?? []) {
        list.append(el('li', '', file));
      }
      return list;
    }
    default:
      return null;
  }
}

/** Fill `host` with the preview of one file. */
export function renderPreview(
  host: HTMLElement,
  summary: IFileSummary,
  artifact: IArtifact | null,
  limits: IPreviewLimits,
  trans: TranslationBundle
): void {
  host.textContent = '';
  host.dataset.path = summary.path;
  host.dataset.previewType = summary.preview.type;
  host.append(el('div', 'opencrate-preview-title', summary.name));
  const rows: Array<[string, string]> = [
    [trans.__('kind'), summary.kind],
    [trans.__('size'), summary.size_text]
  ];
  if (summary.modified_text) {
    rows.push([trans.__('modified'), summary.modified_text]);
  }
  if (artifact?.summary) {
    rows.push([trans.__('summary'), artifact.summary]);
  }
  if (artifact?.cell_label) {
    rows.push([trans.__('saved by'), artifact.cell_label]);
  }
  if (artifact?.sha256) {
    rows.push([trans.__('sha256'), artifact.sha256.slice(0, 16)]);
  }
  if (artifact && artifact.backups.length) {
    rows.push([
      trans.__('backups'),
      artifact.backups.map(b => b.name).join(', ')
    ]);
  }
  rows.push(...describeFacts(summary.describe));
  host.append(facts(rows));
  const content = body(summary, limits, trans);
  if (content) {
    host.append(content);
  }
}

/** Show an error in the preview area. */
export function renderMessage(host: HTMLElement, message: string): void {
  host.textContent = '';
  delete host.dataset.previewType;
  host.append(el('div', 'opencrate-note', message));
}
