/**
 * The model behind the "Compare versions" panel: what the user chose (show every column or
 * only those that differ, the keys to ignore, the sort, the metric to plot) and the table the
 * server computed for it (`GET compare`, from opencrate_nb.core.compare).
 *
 * Nothing is computed here that core computes: which columns differ, the sort order and every
 * cell's text come from the server. The model keeps the table current as a `PolledResource`
 * (with the last ETag: 304 while no version changed), and turns the plotted column into points
 * on a chart.
 */
import { Fetched, PolledResource } from './polled';

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

export type CompareResponse = Fetched<{ table: ICompareTable }>;

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

export class CompareModel extends PolledResource<{ table: ICompareTable }> {
  constructor(options: ICompareModelOptions) {
    super({
      name: `opencrate-nb:compare:${options.name}`,
      pollSeconds: options.pollSeconds
    });
    this._query = { name: options.name, all: false, ignore: [], sort: null };
    this._fetch = options.fetch;
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
    this.emitChanged();
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
    await super.refresh(true);
  }

  protected async fetch(etag: string | null): Promise<CompareResponse | null> {
    const query = this._query;
    const response = await this._fetch(query, etag);
    // the choices changed while this request ran: its refresh brings the right table
    return query === this._query ? response : null;
  }

  protected receive(response: { table: ICompareTable }): void {
    this._table = response.table;
    this.emitChanged();
  }

  private async _change(change: Partial<ICompareQuery>): Promise<void> {
    this._query = { ...this._query, ...change };
    this.emitChanged();
    await this.refresh();
  }

  private _query: ICompareQuery;
  private _fetch: CompareFetcher;
  private _table: ICompareTable | null = null;
  private _metric: string | null = null;
}
