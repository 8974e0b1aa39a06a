/**
 * The model behind the sidebar: it owns the snapshot tree, keeps it current and says when
 * it changed; the panel only draws `rows` when `changed` fires.
 *
 * It polls `GET tree` as a `PolledResource`: with the last ETag in `If-None-Match` (while
 * nothing changed the server answers 304 without building or sending the tree), standing by
 * while the panel (or the browser tab) is hidden.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Fetched, PolledResource } from './polled';
import { Expansion, IRow, ITree, visibleRows } from './tree';

/** What one `GET tree` gave: a new tree with its ETag, or "not modified". */
export type TreeResponse = Fetched<{ tree: ITree }>;

/** Fetches the tree, sending `etag` (when not null) as `If-None-Match`. */
export type TreeFetcher = (etag: string | null) => Promise<TreeResponse>;

export interface ISnapshotModelOptions {
  fetchTree: TreeFetcher;
  trans: TranslationBundle;
  /** seconds between two polls while the panel is visible */
  pollSeconds: number;
}

export class SnapshotModel extends PolledResource<{ tree: ITree }> {
  constructor(options: ISnapshotModelOptions) {
    super({ name: 'opencrate-nb:tree', pollSeconds: options.pollSeconds });
    this._fetchTree = options.fetchTree;
    this._trans = options.trans;
  }

  get tree(): ITree | null {
    return this._tree;
  }

  /** The rows the panel shows: the tree flattened through the expansion and the filter. */
  get rows(): IRow[] {
    return this._rows;
  }

  /** How long the last fetch that brought a tree took, in ms. */
  get loadMs(): number | null {
    return this._loadMs;
  }

  get filter(): string {
    return this._filter;
  }

  set filter(query: string) {
    if (query === this._filter) {
      return;
    }
    this._filter = query;
    this._rebuild();
  }

  /** Open or close a branch. */
  toggle(id: string, open: boolean): void {
    this._expansion.set(id, open);
    this._rebuild();
  }

  protected fetch(etag: string | null): Promise<TreeResponse> {
    return this._fetchTree(etag);
  }

  /** A tree replaces the one held. */
  protected receive(response: { tree: ITree }, ms: number): void {
    this._tree = response.tree;
    this._loadMs = ms;
    this._rebuild();
  }

  protected errorMessage(reason: unknown): string {
    return this._trans.__(
      'Could not read the snapshots: %1',
      super.errorMessage(reason)
    );
  }

  private _rebuild(): void {
    this._rows = visibleRows(
      this._tree,
      this._expansion,
      this._filter,
      this._trans
    );
    this.emitChanged();
  }

  private _fetchTree: TreeFetcher;
  private _trans: TranslationBundle;
  private _tree: ITree | null = null;
  private _rows: IRow[] = [];
  private _expansion = new Expansion();
  private _filter = '';
  private _loadMs: number | null = null;
}
