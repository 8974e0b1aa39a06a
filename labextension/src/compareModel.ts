/**
 * The model behind the "Compare versions" panel: what the user chose (show every column or
 * only those that differ, the keys to ignore, the sort, the metric to plot) and the table the
 * server computed for it (`GET compare`, from opencrate_nb.core.compare).
 *
 * Nothing is computed here that core computes: which columns differ, the sort order and every
 * cell's text come from the server. The model keeps the table current by polling with the last
 * ETag (304 while no version changed), and turns the plotted column into points on a chart.
 */
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

export type Group = 'run' | 'config' | 'metric';

export interface ICompareColumn {
  group: Group;
  key: string;
  label: string;
  differs: boolean;
}

export interface ICompareCell {
  value: unknown;
  /** how the cell reads (times, durations and numbers rendered by core) */
  text: string;
}

export interface ICompareRow {
  version: string;
  number: number;
  tag: string | null;
  path: string;
  cells: ICompareCell[];
}

export interface ICompareTable {
  name: string;
  columns: ICompareColumn[];
  /** columns left out because every version has the same value */
  hidden: number;
  notes: string[];
  rows: ICompareRow[];
}

/** The query of one `GET compare` (the choices the server needs). */
export interface ICompareQuery {
  name: string;
  all: boolean;
  ignore: string[];
  sort: string | null;
}

export type CompareResponse =
  { status: 200; etag: string | null; table: ICompareTable } | { status: 304 };

export type CompareFetcher = (
  query: ICompareQuery,
  etag: string | null
) => Promise<CompareResponse>;

export interface ICompareModelOptions {
  name: string;
  fetch: CompareFetcher;
  /** seconds between two polls while the panel is visible */
  pollSeconds: number;
}

/** A point of the plot, in the chart's coordinates, with the row it stands for. */
export interface IPlotPoint {
  x: number;
  y: number;
  version: string;
  text: string;
}

export interface IPlot {
  label: string;
  points: IPlotPoint[];
  min: number;
  max: number;
}

/** The query string a query is sent as (`ignore` repeated). */
export function queryParams(query: ICompareQuery): [string, string][] {
  const params: [string, string][] = [['name', query.name]];
  if (query.all) {
    params.push(['all', '1']);
  }
  for (const pattern of query.ignore) {
    params.push(['ignore', pattern]);
  }
  if (query.sort) {
    params.push(['sort', query.sort]);
  }
  return params;
}

/** The sort after a click on `label`: ascending, then descending, then ascending again. */
export function nextSort(current: string | null, label: string): string {
  return current === label ? `-${label}` : label;
}

/** The direction a column is sorted in, if it is the sorted one. */
export function sortDirection(
  current: string | null,
  label: string
): 'ascending' | 'descending' | null {
  if (current === label) {
    return 'ascending';
  }
  return current === `-${label}` ? 'descending' : null;
}

/**
 * The points of `label`'s numbers over the versions (in version order, whatever the table's
 * sort), scaled into a `width` x `height` chart with `pad` pixels of margin.
 */
export function plotPoints(
  table: ICompareTable,
  label: string,
  width: number,
  height: number,
  pad = 24
): IPlot | null {
  const index = table.columns.findIndex(c => c.label === label);
  if (index < 0) {
    return null;
  }
  const rows = [...table.rows].sort(
    (a, b) => a.number - b.number || (a.tag ?? '').localeCompare(b.tag ?? '')
  );
  const known = rows
    .map((row, position) => ({ row, position, value: row.cells[index].value }))
    .filter(item => typeof item.value === 'number') as {
    row: ICompareRow;
    position: number;
    value: number;
  }[];
  if (known.length === 0) {
    return null;
  }
  const values = known.map(item => item.value);
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const steps = Math.max(rows.length - 1, 1);
  const points = known.map(item => ({
    x: pad + (item.position / steps) * (width - 2 * pad),
    y:
      max === min
        ? height / 2
        : height - pad - ((item.value - min) / span) * (height - 2 * pad),
    version: item.row.version,
    text: item.row.cells[index].text
  }));
  return { label, points, min, max };
}

export class CompareModel implements IDisposable {
  constructor(options: ICompareModelOptions) {
    this._query = { name: options.name, all: false, ignore: [], sort: null };
    this._fetch = options.fetch;
    this._poll = new Poll({
      auto: false,
      factory: () => this._update(),
      frequency: CompareModel.frequency(options.pollSeconds),
      name: `opencrate-nb:compare:${options.name}`,
      standby: () => (this._active ? 'when-hidden' : true)
    });
  }

  /** Poll intervals: `seconds` while it works, backing off to a minute on errors. */
  static frequency(seconds: number): IPoll.Frequency {
    const interval = Math.max(1, seconds) * 1000;
    return { interval, backoff: true, max: Math.max(interval, 60_000) };
  }

  /** Emitted when the table, the choices or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get name(): string {
    return this._query.name;
  }

  get query(): ICompareQuery {
    return this._query;
  }

  get table(): ICompareTable | null {
    return this._table;
  }

  get error(): string | null {
    return this._error;
  }

  get etag(): string | null {
    return this._etag;
  }

  /** The metric columns of the table (what can be plotted). */
  get metricLabels(): string[] {
    return (this._table?.columns ?? [])
      .filter(c => c.group === 'metric')
      .map(c => c.label);
  }

  /** The plotted metric: the one chosen, else the first differing metric, else the first metric. */
  get metric(): string | null {
    const labels = this.metricLabels;
    if (this._metric && labels.includes(this._metric)) {
      return this._metric;
    }
    const columns = this._table?.columns ?? [];
    const differing = columns.find(c => c.group === 'metric' && c.differs);
    return differing?.label ?? labels[0] ?? null;
  }

  set metric(label: string | null) {
    this._metric = label;
    this._changed.emit();
  }

  /** Whether the panel is visible: polling runs only then. Turning it on asks at once. */
  set active(value: boolean) {
    if (value === this._active || this.isDisposed) {
      return;
    }
    this._active = value;
    if (value) {
      void (this._poll.state.phase === 'constructed'
        ? this._poll.start()
        : this._poll.refresh());
    }
  }

  get active(): boolean {
    return this._active;
  }

  set pollSeconds(seconds: number) {
    this._poll.frequency = CompareModel.frequency(seconds);
  }

  /** Show every column (true) or only those whose values differ (false). */
  async showAll(all: boolean): Promise<void> {
    await this._change({ all });
  }

  /** Sort by the column `label` (a second click: descending). */
  async sortBy(label: string): Promise<void> {
    await this._change({ sort: nextSort(this._query.sort, label) });
  }

  /** Leave out the columns matching a glob (`config.seed`, `*.seed`). */
  async ignore(pattern: string): Promise<void> {
    const text = pattern.trim();
    if (!text || this._query.ignore.includes(text)) {
      return;
    }
    await this._change({ ignore: [...this._query.ignore, text] });
  }

  /** Show the columns of `pattern` again. */
  async unignore(pattern: string): Promise<void> {
    await this._change({
      ignore: this._query.ignore.filter(p => p !== pattern)
    });
  }

  /** Fetch now, without If-None-Match. */
  async refresh(): Promise<void> {
    this._etag = null;
    await this._poll.refresh();
    await this._poll.tick;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _change(change: Partial<ICompareQuery>): Promise<void> {
    this._query = { ...this._query, ...change };
    this._changed.emit();
    await this.refresh();
  }

  private async _update(): Promise<void> {
    const query = this._query;
    let response: CompareResponse;
    try {
      response = await this._fetch(query, this._etag);
    } catch (reason) {
      const message = (reason as Error).message ?? String(reason);
      if (message !== this._error) {
        this._error = message;
        this._changed.emit();
      }
      throw reason;
    }
    if (query !== this._query) {
      return; // the choices changed while this request ran: its refresh brings the right table
    }
    const recovered = this._error !== null;
    this._error = null;
    if (response.status === 304) {
      if (recovered) {
        this._changed.emit();
      }
      return;
    }
    this._table = response.table;
    this._etag = response.etag;
    this._changed.emit();
  }

  private _query: ICompareQuery;
  private _fetch: CompareFetcher;
  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _table: ICompareTable | null = null;
  private _error: string | null = null;
  private _etag: string | null = null;
  private _metric: string | null = null;
  private _active = false;
}
