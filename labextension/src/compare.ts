/**
 * The "Compare versions" main-area panel: every version of one snapshot name as a table
 * (run facts, config keys and metrics, as `oc.snapshot.compare` computes them), and a plot of
 * one metric over the versions.
 *
 * It draws what its `CompareModel` holds when the model's `changed` fires. Clicking a header
 * sorts by that column (again: descending), the checkbox shows every column or only those that
 * differ, the "×" of a header (or the ignore box, which takes globs) leaves a key out, and the
 * select picks the metric to plot. Every text is set as text, never as HTML.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  CompareModel,
  CompareResponse,
  ICompareQuery,
  ICompareTable,
  plotPoints,
  queryParams,
  sortDirection
} from './compareModel';
import { el } from './preview';
import { parse, send } from './request';

const SVG = 'http://www.w3.org/2000/svg';
const PLOT_WIDTH = 640;
const PLOT_HEIGHT = 220;

/** `GET compare` with `If-None-Match: etag`: 304 while the table is unchanged. */
export async function fetchCompare(
  query: ICompareQuery,
  etag: string | null
): Promise<CompareResponse> {
  const response = await send(
    'compare',
    queryParams(query),
    etag ? { 'If-None-Match': etag } : {}
  );
  if (response.status === 304) {
    return { status: 304 };
  }
  const table = await parse<ICompareTable>(response);
  return { status: 200, etag: response.headers.get('ETag'), table };
}

/** The id of the panel comparing `name` (one panel per snapshot name). */
export function comparePanelId(name: string): string {
  return `opencrate-compare-${encodeURIComponent(name).replace(/%/g, '_')}`;
}

export class ComparePanel extends Widget {
  constructor(model: CompareModel, trans: TranslationBundle) {
    super();
    this._model = model;
    this._trans = trans;
    this.id = comparePanelId(model.name);
    this.addClass('opencrate-compare');
    this.title.label = trans.__('Compare %1', model.name);
    this.title.caption = trans.__(
      'Every version of %1 side by side',
      model.name
    );
    this.title.closable = true;

    const bar = el('div', 'opencrate-compare-toolbar');
    const allLabel = el('label', 'opencrate-compare-all');
    this._all = el('input');
    this._all.type = 'checkbox';
    this._all.addEventListener('change', () => {
      void this._model.showAll(this._all.checked);
    });
    allLabel.append(
      this._all,
      document.createTextNode(trans.__('Show all columns'))
    );

    this._ignoreBox = el('input', 'jp-mod-styled opencrate-compare-ignore');
    this._ignoreBox.placeholder = trans.__('Ignore keys, e.g. *.seed');
    this._ignoreBox.setAttribute(
      'aria-label',
      trans.__('Ignore the columns matching a pattern')
    );
    this._ignoreBox.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        const pattern = this._ignoreBox.value;
        this._ignoreBox.value = '';
        void this._model.ignore(pattern);
      }
    });
    this._ignored = el('span', 'opencrate-compare-ignored');

    const plotLabel = el(
      'label',
      'opencrate-compare-plot-label',
      trans.__('Plot')
    );
    this._metric = el('select', 'jp-mod-styled opencrate-compare-metric');
    this._metric.setAttribute(
      'aria-label',
      trans.__('The metric to plot over the versions')
    );
    this._metric.addEventListener('change', () => {
      this._model.metric = this._metric.value || null;
    });
    plotLabel.append(this._metric);
    bar.append(allLabel, this._ignoreBox, this._ignored, plotLabel);

    this._status = el('div', 'opencrate-compare-status');
    this._tableHost = el('div', 'opencrate-compare-scroll');
    this._plot = el('div', 'opencrate-compare-plot');
    const content = el('div', 'opencrate-compare-content');
    content.append(bar, this._status, this._tableHost, this._plot);
    this.node.append(content);
    this._model.changed.connect(() => this._draw(), this);
  }

  get model(): CompareModel {
    return this._model;
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.active = true;
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._model.active = this.isVisible;
  }

  protected onBeforeHide(msg: Message): void {
    super.onBeforeHide(msg);
    this._model.active = false;
  }

  /** A closed tab is done with: its model stops polling for good. */
  protected onCloseRequest(msg: Message): void {
    super.onCloseRequest(msg);
    this.dispose();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.dispose();
    super.dispose();
  }

  private _draw(): void {
    const model = this._model;
    const trans = this._trans;
    const table = model.table;
    this._all.checked = model.query.all;
    this._drawIgnored();
    if (model.error) {
      this._status.textContent = trans.__('Could not compare: %1', model.error);
      this._status.classList.add('opencrate-compare-error');
    } else {
      this._status.classList.remove('opencrate-compare-error');
      this._status.textContent = table
        ? this._summary(table)
        : trans.__('Comparing the versions of %1…', model.name);
    }
    if (!table) {
      return;
    }
    this.node.dataset.versions = String(table.rows.length);
    this._drawTable(table);
    this._drawMetricChoice();
    this._drawPlot(table);
  }

  private _summary(table: ICompareTable): string {
    const trans = this._trans;
    const shown = table.columns.filter(c => c.group !== 'run').length;
    const versions = trans._n('%1 version', '%1 versions', table.rows.length);
    const columns = trans._n('%1 column', '%1 columns', shown);
    const hidden = table.hidden
      ? trans._n(
          ' (%1 identical column hidden)',
          ' (%1 identical columns hidden)',
          table.hidden
        )
      : '';
    return `${versions}, ${columns}${hidden}`;
  }

  private _drawIgnored(): void {
    this._ignored.replaceChildren(
      ...this._model.query.ignore.map(pattern => {
        const chip = el('button', 'opencrate-compare-chip', `${pattern} ×`);
        chip.title = this._trans.__('Show %1 again', pattern);
        chip.addEventListener(
          'click',
          () => void this._model.unignore(pattern)
        );
        return chip;
      })
    );
  }

  private _drawTable(table: ICompareTable): void {
    const trans = this._trans;
    const sort = this._model.query.sort;
    const element = el('table', 'opencrate-compare-table');
    const head = element.createTHead();
    const groups = head.insertRow();
    const keys = head.insertRow();
    const versionHead = el('th', 'opencrate-compare-key', trans.__('version'));
    versionHead.rowSpan = 2;
    groups.append(versionHead);
    let last: string | null = null;
    let groupCell: HTMLTableCellElement | null = null;
    for (const column of table.columns) {
      if (column.group !== last) {
        groupCell = el(
          'th',
          `opencrate-compare-group opencrate-group-${column.group}`,
          column.group
        );
        groups.append(groupCell);
        last = column.group;
      } else if (groupCell) {
        groupCell.colSpan += 1;
      }
      const cell = el('th', 'opencrate-compare-key');
      cell.dataset.label = column.label;
      cell.dataset.group = column.group;
      const direction = sortDirection(sort, column.label);
      if (direction) {
        cell.setAttribute('aria-sort', direction);
      }
      const button = el('button', 'opencrate-compare-sort', column.key);
      button.title = trans.__('Sort by %1', column.label);
      button.addEventListener(
        'click',
        () => void this._model.sortBy(column.label)
      );
      const hide = el('button', 'opencrate-compare-hide', '×');
      hide.title = trans.__('Ignore %1', column.label);
      hide.addEventListener(
        'click',
        () => void this._model.ignore(column.label)
      );
      cell.append(button, hide);
      keys.append(cell);
    }
    const body = element.createTBody();
    for (const row of table.rows) {
      const line = body.insertRow();
      line.dataset.version = row.version;
      const name = el('th', 'opencrate-compare-version', row.version);
      name.scope = 'row';
      line.append(name);
      row.cells.forEach((cell, index) => {
        const td = line.insertCell();
        td.textContent = cell.text;
        td.dataset.label = table.columns[index].label;
        if (typeof cell.value === 'number') {
          td.classList.add('opencrate-compare-number');
        }
      });
    }
    this._tableHost.replaceChildren(element);
    for (const note of table.notes) {
      this._tableHost.append(el('div', 'opencrate-compare-note', note));
    }
  }

  private _drawMetricChoice(): void {
    const labels = this._model.metricLabels;
    const chosen = this._model.metric;
    this._metric.replaceChildren(
      ...labels.map(label => {
        const option = el('option', '', label);
        option.value = label;
        option.selected = label === chosen;
        return option;
      })
    );
    this._metric.disabled = labels.length === 0;
  }

  private _drawPlot(table: ICompareTable): void {
    const label = this._model.metric;
    const plot = label
      ? plotPoints(table, label, PLOT_WIDTH, PLOT_HEIGHT)
      : null;
    if (!plot) {
      this._plot.replaceChildren(
        el(
          'div',
          'opencrate-compare-note',
          this._trans.__('No metric to plot.')
        )
      );
      return;
    }
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${PLOT_WIDTH} ${PLOT_HEIGHT}`);
    svg.setAttribute('width', String(PLOT_WIDTH));
    svg.setAttribute('height', String(PLOT_HEIGHT));
    svg.setAttribute('role', 'img');
    svg.setAttribute(
      'aria-label',
      this._trans.__('%1 over the versions', plot.label)
    );
    svg.dataset.metric = plot.label;
    const axis = document.createElementNS(SVG, 'path');
    axis.setAttribute('d', `M24 ${PLOT_HEIGHT - 24} H${PLOT_WIDTH - 24}`);
    axis.setAttribute('class', 'opencrate-compare-axis');
    const line = document.createElementNS(SVG, 'polyline');
    line.setAttribute(
      'points',
      plot.points.map(p => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ')
    );
    line.setAttribute('class', 'opencrate-compare-line');
    svg.append(axis, line);
    for (const point of plot.points) {
      const dot = document.createElementNS(SVG, 'circle');
      dot.setAttribute('cx', point.x.toFixed(1));
      dot.setAttribute('cy', point.y.toFixed(1));
      dot.setAttribute('r', '3.5');
      dot.setAttribute('class', 'opencrate-compare-dot');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = `${point.version}: ${point.text}`;
      dot.append(title);
      svg.append(dot);
    }
    for (const [value, y] of [
      [plot.max, 24],
      [plot.min, PLOT_HEIGHT - 24]
    ] as const) {
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', '2');
      text.setAttribute('y', String(y - 4));
      text.setAttribute('class', 'opencrate-compare-tick');
      text.textContent = String(Number(value.toPrecision(6)));
      svg.append(text);
    }
    const caption = el(
      'div',
      'opencrate-compare-caption',
      this._trans.__('%1 over the versions', plot.label)
    );
    this._plot.replaceChildren(caption, svg);
  }

  private _model: CompareModel;
  private _trans: TranslationBundle;
  private _all: HTMLInputElement;
  private _ignoreBox: HTMLInputElement;
  private _ignored: HTMLSpanElement;
  private _metric: HTMLSelectElement;
  private _status: HTMLDivElement;
  private _tableHost: HTMLDivElement;
  private _plot: HTMLDivElement;
}

/** Show the panel comparing `name`: the one already open, or a new one in the main area. */
export function openComparePanel(
  shell: JupyterFrontEnd.IShell,
  name: string,
  trans: TranslationBundle,
  pollSeconds: number
): ComparePanel {
  const id = comparePanelId(name);
  for (const widget of shell.widgets('main')) {
    if (widget.id === id && widget instanceof ComparePanel) {
      shell.activateById(id);
      return widget;
    }
  }
  const model = new CompareModel({ name, fetch: fetchCompare, pollSeconds });
  const panel = new ComparePanel(model, trans);
  shell.add(panel, 'main');
  shell.activateById(id);
  return panel;
}
