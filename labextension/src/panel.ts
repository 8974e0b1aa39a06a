/**
 * The "OpenCrate snapshots" sidebar: a filter box, the snapshot tree and a preview.
 *
 * The tree is drawn as a virtual list: only the rows in view (plus a margin) exist in
 * the DOM, so 10,000 artifacts cost what 40 do. While the panel is visible it polls the
 * cheap `fingerprint` route and fetches the tree only when that changes; while hidden it
 * does nothing. No kernel is involved.
 */
import { Widget } from '@lumino/widgets';
import { Message } from '@lumino/messaging';

import { iconFor } from './icons';
import {
  Expansion,
  IRow,
  ITree,
  findArtifact,
  visibleRows
} from './model';
import { IFileSummary, el, renderMessage, renderPreview } from './preview';
import { requestAPI } from './request';

export const PANEL_ID = 'opencrate-snapshots';
const ROW_HEIGHT = 24;
const OVERSCAN_ROWS = 12;
const FILTER_DELAY_MS = 120;

export interface IPanelSettings {
  pollSeconds: number;
  previewTextBytes: number;
  previewTableRows: number;
  logTailLines: number;
  mediaAutoLoadBytes: number;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  pollSeconds: 3,
  previewTextBytes: 65536,
  previewTableRows: 20,
  logTailLines: 200,
  mediaAutoLoadBytes: 20 * 1024 * 1024
};

export interface IPanelActions {
  /** double click: open the file in a JupyterLab tab */
  open(row: IRow): void;
}

export class SnapshotPanel extends Widget {
  constructor(actions: IPanelActions) {
    super();
    this.id = PANEL_ID;
    this.addClass('opencrate-panel');
    this._actions = actions;

    const header = el('div', 'opencrate-header');
    header.append(el('div', 'opencrate-heading', 'OpenCrate snapshots'));
    this._filter = el('input', 'jp-mod-styled opencrate-filter');
    this._filter.type = 'search';
    this._filter.placeholder = 'Filter: name or path, e.g. mnist/v3';
    this._filter.setAttribute('aria-label', 'Filter artifacts by name or path');
    this._filter.addEventListener('input', () => this._filterChanged());
    this._status = el('div', 'opencrate-status');
    header.append(this._filter, this._status);

    this._scroller = el('div', 'opencrate-tree');
    this._scroller.setAttribute('role', 'tree');
    this._scroller.tabIndex = 0;
    this._scroller.addEventListener('keydown', event => this._onKeyDown(event));
    this._spacer = el('div', 'opencrate-tree-spacer');
    this._scroller.append(this._spacer);
    this._scroller.addEventListener('scroll', () => this._scheduleDraw());
    this._scroller.addEventListener('click', event => this._onClick(event));
    this._scroller.addEventListener('dblclick', event => this._onDoubleClick(event));
    this._scroller.addEventListener('contextmenu', event => this._onContextMenu(event));

    this._preview = el('div', 'opencrate-preview');
    renderMessage(this._preview, 'Click an artifact to preview it.');

    this.node.append(header, this._scroller, this._preview);
  }

  get tree(): ITree | null {
    return this._tree;
  }

  /** The row that was clicked last (the context menu acts on it). */
  get selected(): IRow | null {
    return this._selected;
  }

  set settings(value: IPanelSettings) {
    this._settings = value;
    if (this.isVisible) {
      this._schedulePoll(0);
    }
  }

  /** The row drawn in `node` (a row element or one of its children). */
  rowOf(node: HTMLElement | null): IRow | null {
    const element = node?.closest('.opencrate-node') as HTMLElement | null;
    const index = element ? Number(element.dataset.index) : NaN;
    return Number.isInteger(index) ? this._rows[index] ?? null : null;
  }

  /** Fetch the tree now if it changed (or always, with `force`). */
  async refresh(force = false): Promise<void> {
    try {
      const { fingerprint } = await requestAPI<{ fingerprint: string }>(
        'fingerprint'
      );
      if (!force && this._tree && fingerprint === this._tree.fingerprint) {
        return;
      }
      const started = performance.now();
      this._tree = await requestAPI<ITree>('tree');
      this._rebuildRows();
      const count = this._tree.snapshots.length;
      this._setStatus(
        count
          ? ''
          : `No snapshots in ${this._tree.base || 'the server root'} yet.`
      );
      this.node.dataset.fingerprint = this._tree.fingerprint;
      this.node.dataset.loadMs = String(Math.round(performance.now() - started));
    } catch (error) {
      this._setStatus(`Could not read the snapshots: ${(error as Error).message}`);
    }
  }

  /** Show the preview of a file (artifact, backup or log). */
  async preview(row: IRow): Promise<void> {
    const token = ++this._previewToken;
    this._preview.textContent = '';
    this._preview.append(el('div', 'opencrate-note', `Loading ${row.name}…`));
    const s = this._settings;
    try {
      const summary = await requestAPI<IFileSummary>('file', {
        path: row.path,
        max_bytes: String(s.previewTextBytes),
        rows: String(s.previewTableRows),
        lines: String(s.logTailLines)
      });
      if (token === this._previewToken) {
        renderPreview(this._preview, summary, findArtifact(this._tree, row.path), {
          mediaAutoLoadBytes: s.mediaAutoLoadBytes
        });
      }
    } catch (error) {
      if (token === this._previewToken) {
        renderMessage(this._preview, (error as Error).message);
      }
    }
  }

  /** The tail of a version's run log in the preview area. */
  async previewLog(versionPath: string): Promise<void> {
    const token = ++this._previewToken;
    try {
      const tail = await requestAPI<{ path: string; text: string; size: number }>('log', {
        path: versionPath,
        lines: String(this._settings.logTailLines)
      });
      if (token !== this._previewToken) {
        return;
      }
      renderPreview(
        this._preview,
        {
          path: tail.path,
          name: tail.path.split('/').pop() ?? tail.path,
          kind: 'log',
          is_dir: false,
          size: tail.size,
          modified: '',
          mime: 'text/plain',
          describe: {},
          preview: { type: 'log', text: tail.text }
        },
        null,
        { mediaAutoLoadBytes: 0 }
      );
    } catch (error) {
      if (token === this._previewToken) {
        renderMessage(this._preview, (error as Error).message);
      }
    }
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._schedulePoll(0);
    this._scheduleDraw();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._stopPolling();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._scheduleDraw();
  }

  dispose(): void {
    this._stopPolling();
    super.dispose();
  }

  private _schedulePoll(delayMs: number): void {
    this._stopPolling();
    this._pollTimer = window.setTimeout(async () => {
      this._pollTimer = 0;
      if (!this.isVisible || this.isDisposed) {
        return;
      }
      if (document.visibilityState !== 'hidden') {
        await this.refresh();
      }
      if (this.isVisible && !this.isDisposed && !this._pollTimer) {
        this._schedulePoll(Math.max(1, this._settings.pollSeconds) * 1000);
      }
    }, delayMs);
  }

  private _stopPolling(): void {
    if (this._pollTimer) {
      window.clearTimeout(this._pollTimer);
      this._pollTimer = 0;
    }
  }

  private _setStatus(text: string): void {
    this._status.textContent = text;
    this._status.hidden = text.length === 0;
  }

  private _filterChanged(): void {
    window.clearTimeout(this._filterTimer);
    this._filterTimer = window.setTimeout(() => {
      this._scroller.scrollTop = 0;
      this._rebuildRows();
    }, FILTER_DELAY_MS);
  }

  private _rebuildRows(): void {
    this._rows = visibleRows(this._tree, this._expansion, this._filter.value);
    this._spacer.style.height = `${this._rows.length * ROW_HEIGHT}px`;
    this.node.dataset.rows = String(this._rows.length);
    this._drawn = '';
    this._scheduleDraw();
  }

  private _scheduleDraw(): void {
    if (this._frame) {
      return;
    }
    this._frame = requestAnimationFrame(() => {
      this._frame = 0;
      this._draw();
    });
  }

  /** Draw the rows in view; nothing happens when the same window is already drawn. */
  private _draw(): void {
    const height = this._scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this._scroller.scrollTop / ROW_HEIGHT) - OVERSCAN_ROWS);
    const last = Math.min(
      this._rows.length,
      Math.ceil((this._scroller.scrollTop + height) / ROW_HEIGHT) + OVERSCAN_ROWS
    );
    const key = `${first}:${last}:${this._selected?.id ?? ''}`;
    if (key === this._drawn) {
      return;
    }
    this._drawn = key;
    const fragment = document.createDocumentFragment();
    for (let index = first; index < last; index++) {
      fragment.append(this._rowElement(this._rows[index], index));
    }
    this._spacer.replaceChildren(fragment);
  }

  private _rowElement(row: IRow, index: number): HTMLElement {
    const node = el('div', `opencrate-node opencrate-node-${row.type}`);
    node.dataset.index = String(index);
    node.dataset.type = row.type;
    node.dataset.path = row.path;
    node.dataset.kind = row.kind;
    node.setAttribute('role', 'treeitem');
    node.style.top = `${index * ROW_HEIGHT}px`;
    node.style.paddingLeft = `${4 + row.depth * 14}px`;
    node.title = row.path;
    if (row.expandable) {
      node.setAttribute('aria-expanded', String(row.expanded));
    }
    if (this._selected && this._selected.id === row.id) {
      node.classList.add('jp-mod-selected');
    }
    const caret = el('span', 'opencrate-caret', row.expandable ? (row.expanded ? '▾' : '▸') : '');
    const icon = el('span', 'opencrate-icon');
    const labIcon = iconFor(row);
    icon.dataset.icon = labIcon.name;
    labIcon.element({ container: icon, height: '16px', width: '16px' });
    node.append(
      caret,
      icon,
      el('span', 'opencrate-node-name', row.name),
      el('span', 'opencrate-node-detail', row.detail)
    );
    return node;
  }

  private _select(row: IRow): void {
    this._selected = row;
    this._drawn = '';
    this._scheduleDraw();
  }

  private _onClick(event: MouseEvent): void {
    const row = this.rowOf(event.target as HTMLElement);
    if (!row) {
      return;
    }
    this._select(row);
    if (row.expandable) {
      this._expansion.set(row.id, !row.expanded);
      this._rebuildRows();
      if (row.type === 'version') {
        void this.previewLog(row.path);
      }
      return;
    }
    void this.preview(row);
  }

  /** Arrows move the selection (and preview), Left/Right close/open, Enter opens a file in a tab. */
  private _onKeyDown(event: KeyboardEvent): void {
    const index = this._selected
      ? this._rows.findIndex(r => r.id === this._selected!.id)
      : -1;
    const row = index >= 0 ? this._rows[index] : null;
    let next = index;
    if (event.key === 'ArrowDown') {
      next = Math.min(this._rows.length - 1, index + 1);
    } else if (event.key === 'ArrowUp') {
      next = Math.max(0, index - 1);
    } else if ((event.key === 'ArrowRight' || event.key === 'ArrowLeft') && row?.expandable) {
      const open = event.key === 'ArrowRight';
      if (row.expanded !== open) {
        this._expansion.set(row.id, open);
        this._rebuildRows();
      }
    } else if (event.key === 'Enter' && row && !row.expandable) {
      this._actions.open(row);
    } else {
      return;
    }
    event.preventDefault();
    if (next === index || next < 0) {
      return;
    }
    const target = this._rows[next];
    this._select(target);
    this._scrollIntoView(next);
    if (!target.expandable) {
      void this.preview(target);
    }
  }

  private _scrollIntoView(index: number): void {
    const top = index * ROW_HEIGHT;
    const view = this._scroller;
    if (top < view.scrollTop) {
      view.scrollTop = top;
    } else if (top + ROW_HEIGHT > view.scrollTop + view.clientHeight) {
      view.scrollTop = top + ROW_HEIGHT - view.clientHeight;
    }
  }

  private _onDoubleClick(event: MouseEvent): void {
    const row = this.rowOf(event.target as HTMLElement);
    if (row && !row.expandable) {
      this._actions.open(row);
    }
  }

  private _onContextMenu(event: MouseEvent): void {
    const row = this.rowOf(event.target as HTMLElement);
    if (row) {
      this._select(row);
    }
  }

  private _actions: IPanelActions;
  private _filter: HTMLInputElement;
  private _status: HTMLElement;
  private _scroller: HTMLElement;
  private _spacer: HTMLElement;
  private _preview: HTMLElement;
  private _tree: ITree | null = null;
  private _rows: IRow[] = [];
  private _expansion = new Expansion();
  private _selected: IRow | null = null;
  private _settings: IPanelSettings = DEFAULT_SETTINGS;
  private _pollTimer = 0;
  private _filterTimer = 0;
  private _frame = 0;
  private _drawn = '';
  private _previewToken = 0;
}
