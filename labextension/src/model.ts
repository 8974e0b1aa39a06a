/**
 * The model behind the sidebar: it owns the snapshot tree, keeps it current and says when
 * it changed; the panel only draws `rows` when `changed` fires.
 *
 * It polls `GET tree` through a lumino `Poll` with the last ETag in `If-None-Match`: while
 * nothing changed the server answers 304 without building or sending the tree. While the
 * panel is hidden (or the browser tab is) the poll stands by and sends nothing.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { Expansion, IRow, ITree, visibleRows } from './tree';

/** What one `GET tree` gave: a new tree with its ETag, or "not modified". */
export type TreeResponse =
  { status: 200; etag: string | null; tree: ITree } | { status: 304 };

/** Fetches the tree, sending `etag` (when not null) as `If-None-Match`. */
export type TreeFetcher = (etag: string | null) => Promise<TreeResponse>;

export interface ISnapshotModelOptions {
  fetchTree: TreeFetcher;
  trans: TranslationBundle;
  /** seconds between two polls while the panel is visible */
  pollSeconds: number;
}

export class SnapshotModel implements IDisposable {
  constructor(options: ISnapshotModelOptions) {
    this._fetchTree = options.fetchTree;
    this._trans = options.trans;
    this._poll = new Poll({
      auto: false,
      factory: () => this._update(),
      frequency: SnapshotModel.frequency(options.pollSeconds),
      name: 'opencrate-nb:tree',
      standby: () => (this._active ? 'when-hidden' : true)
    });
    this._poll.ticked.connect((_, state) => this._ticked.emit(state.phase));
  }

  /** Poll intervals for `seconds`: that often while it works, backing off to a minute on errors. */
  static frequency(seconds: number): IPoll.Frequency {
    const interval = Math.max(1, seconds) * 1000;
    return { interval, backoff: true, max: Math.max(interval, 60_000) };
  }

  /** Emitted on every tick of the poll, standing by or not, with its phase ("standby", "resolved", ...). */
  get ticked(): ISignal<this, string> {
    return this._ticked;
  }

  /** Emitted when the tree, the rows (filter, a toggle) or the error changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get tree(): ITree | null {
    return this._tree;
  }

  /** The rows the panel shows: the tree flattened through the expansion and the filter. */
  get rows(): IRow[] {
    return this._rows;
  }

  /** The message of the last failed fetch, null once a fetch worked again. */
  get error(): string | null {
    return this._error;
  }

  /** The ETag of the tree held (what the next poll sends as If-None-Match). */
  get etag(): string | null {
    return this._etag;
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

  /** Whether the panel is visible: polling runs only then. Turning it on asks for the tree at once. */
  get active(): boolean {
    return this._active;
  }

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

  set pollSeconds(seconds: number) {
    this._poll.frequency = SnapshotModel.frequency(seconds);
  }

  /** Open or close a branch. */
  toggle(id: string, open: boolean): void {
    this._expansion.set(id, open);
    this._rebuild();
  }

  /** Fetch now; with `force`, without If-None-Match (the whole tree comes back). */
  async refresh(force = false): Promise<void> {
    if (force) {
      this._etag = null;
    }
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

  /** One poll: a 304 changes nothing; a tree replaces the one held. Errors are kept, and rethrown so the poll backs off. */
  private async _update(): Promise<void> {
    const started = Date.now();
    let response: TreeResponse;
    try {
      response = await this._fetchTree(this._etag);
    } catch (reason) {
      const message = this._trans.__(
        'Could not read the snapshots: %1',
        (reason as Error).message ?? String(reason)
      );
      if (message !== this._error) {
        this._error = message;
        this._changed.emit();
      }
      throw reason;
    }
    const recovered = this._error !== null;
    this._error = null;
    if (response.status === 304) {
      if (recovered) {
        this._changed.emit();
      }
      return;
    }
    this._tree = response.tree;
    this._etag = response.etag;
    this._loadMs = Date.now() - started;
    this._rebuild();
  }

  private _rebuild(): void {
    this._rows = visibleRows(
      this._tree,
      this._expansion,
      this._filter,
      this._trans
    );
    this._changed.emit();
  }

  private _fetchTree: TreeFetcher;
  private _trans: TranslationBundle;
  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _ticked = new Signal<this, string>(this);
  private _tree: ITree | null = null;
  private _rows: IRow[] = [];
  private _expansion = new Expansion();
  private _filter = '';
  private _error: string | null = null;
  private _etag: string | null = null;
  private _loadMs: number | null = null;
  private _active = false;
}
