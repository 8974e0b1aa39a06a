/**
 * The "OpenCrate snapshots" sidebar: a filter box, the snapshot tree and a preview.
 *
 * It draws what its `SnapshotModel` holds, when the model's `changed` fires; the model
 * fetches and polls (only while this panel is visible). The tree is drawn as a virtual
 * list: only the rows in view (plus a margin) exist in the DOM, so 10,000 artifacts cost
 * what 40 do. No kernel is involved.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { iconFor } from './icons';
import { SnapshotModel } from './model';
import { IFileSummary, el, renderMessage, renderPreview } from './preview';
import { requestAPI } from './request';
import { IRow, ITree, findArtifact, treeOf, versionLog } from './tree';

export const PANEL_ID = 'opencrate-snapshots';
const ROW_HEIGHT = 24;
const OVERSCAN_ROWS = 12;
const FILTER_DELAY_MS = 120;

/** The user's settings (schema/plugin.json holds their defaults and what each one trades). */
export interface IPanelSettings {
  pollSeconds: number;
  previewTextBytes: number;
  previewTableRows: number;
  logTailLines: number;
  mediaAutoLoadBytes: number;
}

export interface IPanelOptions {
  model: SnapshotModel;
  settings: IPanelSettings;
  trans: TranslationBundle;
  /** double click or Enter: open the file in a JupyterLab tab */
  open(row: IRow): void;
}

export class SnapshotPanel extends Widget {
  constructor(options: IPanelOptions) {
    super();
    this.id = PANEL_ID;
    this.addClass('opencrate-panel');
    this._model = options.model;
    this._settings = options.settings;
    this._trans = options.trans;
    this._open = options.open;
    const trans = this._trans;

    const header = el('div', 'opencrate-header');
    header.append(
      el('div', 'opencrate-heading', trans.__('OpenCrate snapshots'))
    );
    this._filter = el('input', 'jp-mod-styled opencrate-filter');
    this._filter.type = 'search';
    this._filter.placeholder = trans.__('Filter…');
    this._filter.title = trans.__(
      'Shows the items whose path holds every word typed, in any case, e.g. mnist v3 .pt'
    );
    this._filter.setAttribute(
      'aria-label',
      trans.__('Filter artifacts by the words of their path')
    );
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
    this._scroller.addEventListener('dblclick', event =>
      this._onDoubleClick(event)
    );
    this._scroller.addEventListener('contextmenu', event =>
      this._onContextMenu(event)
    );

    this._preview = el('div', 'opencrate-preview');
    renderMessage(this._preview, trans.__('Click an artifact to preview it.'));

    this.node.append(header, this._scroller, this._preview);
    this._model.changed.connect(this._modelChanged, this);
    // what the poll does, for a look in the DOM inspector (and the browser tests)
    this._model.ticked.connect((_, phase) => {
      this.node.dataset.pollPhase = phase;
      this.node.dataset.pollTicks = String(++this._ticks);
    }, this);
  }

  get model(): SnapshotModel {
    return this._model;
  }

  get tree(): ITree | null {
    return this._model.tree;
  }

  /** The row that was clicked last (the context menu acts on it). */
  get selected(): IRow | null {
    return this._selected;
  }

  set settings(value: IPanelSettings) {
    this._settings = value;
    this._model.pollSeconds = value.pollSeconds;
  }

  /** The row drawn in `node` (a row element or one of its children). */
  rowOf(node: HTMLElement | null): IRow | null {
    const element = node?.closest('.opencrate-node') as HTMLElement | null;
    const index = element ? Number(element.dataset.index) : NaN;
    return Number.isInteger(index) ? (this._rows[index] ?? null) : null;
  }

  /** Fetch the tree now (`force`: the whole tree, not "not modified"). */
  refresh(force = false): Promise<void> {
    return this._model.refresh(force);
  }

  /** Show the preview of a file (artifact, backup or log). */
  async preview(row: IRow): Promise<void> {
    const token = ++this._previewToken;
    this._preview.textContent = '';
    this._preview.append(
      el('div', 'opencrate-note', this._trans.__('Loading %1…', row.name))
    );
    const s = this._settings;
    try {
      const summary = await requestAPI<IFileSummary>('file', {
        path: row.path,
        max_bytes: String(s.previewTextBytes),
        rows: String(s.previewTableRows),
        lines: String(s.logTailLines),
        ...(row.root ? { root: row.root } : {})
      });
      summary.root = row.root;
      if (token === this._previewToken) {
        renderPreview(
          this._preview,
          summary,
          findArtifact(treeOf(this.tree, row.root), row.path),
          { mediaAutoLoadBytes: s.mediaAutoLoadBytes },
          this._trans
        );
      }
    } catch (error) {
      if (token === this._previewToken) {
        renderMessage(this._preview, (error as Error).message);
      }
    }
  }

  /** The tail of a version's run log in the preview area (the preview of its log file). */
  async previewLog(versionPath: string, root = ''): Promise<void> {
    const log = versionLog(treeOf(this.tree, root), versionPath);
    if (!log) {
      renderMessage(
        this._preview,
        this._trans.__('This version has no run log.')
      );
      return;
    }
    const row = this._rows.find(r => r.root === root && r.path === log.path);
    await this.preview(
      row ?? {
        id: root ? `${root}//${log.path}` : log.path,
        type: 'log',
        name: log.name,
        kind: 'log',
        depth: 2,
        path: log.path,
        detail: log.size_text,
        expandable: false,
        expanded: false,
        versionPath,
        root
      }
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.active = true;
    this._scheduleDraw();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.active = false;
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._scheduleDraw();
  }

  dispose(): void {
    Signal.disconnectReceiver(this);
    super.dispose();
  }

  private _modelChanged(): void {
    const model = this._model;
    const tree = model.tree;
    if (model.error) {
      this._setStatus(model.error);
    } else if (
      tree &&
      tree.snapshots.length === 0 &&
      (tree.roots ?? []).every(r => r.snapshots.length === 0)
    ) {
      this._setStatus(
        this._trans.__(
          'No snapshots in %1 yet.',
          tree.base || this._trans.__('the server root')
        )
      );
    } else {
      this._setStatus('');
    }
    if (model.etag) {
      this.node.dataset.etag = model.etag;
    }
    if (model.loadMs !== null) {
      this.node.dataset.loadMs = String(model.loadMs);
    }
    if (this._rows !== model.rows) {
      this._rows = model.rows;
      this._spacer.style.height = `${this._rows.length * ROW_HEIGHT}px`;
      this.node.dataset.rows = String(this._rows.length);
      this._drawn = '';
      this._scheduleDraw();
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
      this._model.filter = this._filter.value;
    }, FILTER_DELAY_MS);
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
    const first = Math.max(
      0,
      Math.floor(this._scroller.scrollTop / ROW_HEIGHT) - OVERSCAN_ROWS
    );
    const last = Math.min(
      this._rows.length,
      Math.ceil((this._scroller.scrollTop + height) / ROW_HEIGHT) +
        OVERSCAN_ROWS
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
    const caret = el(
      'span',
      'opencrate-caret',
      row.expandable ? (row.expanded ? '▾' : '▸') : ''
    );
    if (row.expandable) {
      caret.title = row.expanded
        ? this._trans.__('Collapse %1', row.name)
        : this._trans.__('Expand %1', row.name);
    }
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
    const onCaret = (event.target as HTMLElement).closest('.opencrate-caret');
    if (row.type === 'version') {
      // a version row shows its run log; only its caret opens or closes it
      if (onCaret) {
        this._model.toggle(row.id, !row.expanded);
      } else {
        void this.previewLog(row.path, row.root);
      }
      return;
    }
    if (row.expandable) {
      this._model.toggle(row.id, !row.expanded);
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
    } else if (
      (event.key === 'ArrowRight' || event.key === 'ArrowLeft') &&
      row?.expandable
    ) {
      const open = event.key === 'ArrowRight';
      if (row.expanded !== open) {
        this._model.toggle(row.id, open);
      }
    } else if (event.key === 'Enter' && row && !row.expandable) {
      this._open(row);
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
      this._open(row);
    } else if (
      row?.type === 'version' &&
      !(event.target as HTMLElement).closest('.opencrate-caret')
    ) {
      this._model.toggle(row.id, !row.expanded);
    }
  }

  private _onContextMenu(event: MouseEvent): void {
    const row = this.rowOf(event.target as HTMLElement);
    if (row) {
      this._select(row);
    }
  }

  private _model: SnapshotModel;
  private _settings: IPanelSettings;
  private _trans: TranslationBundle;
  private _open: (row: IRow) => void;
  private _filter: HTMLInputElement;
  private _status: HTMLElement;
  private _scroller: HTMLElement;
  private _spacer: HTMLElement;
  private _preview: HTMLElement;
  private _rows: IRow[] = [];
  private _selected: IRow | null = null;
  private _filterTimer = 0;
  private _frame = 0;
  private _drawn = '';
  private _previewToken = 0;
  private _ticks = 0;
}
