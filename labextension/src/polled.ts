/**
 * What the sidebar's models share: a resource of the server kept current by polling.
 *
 * A lumino `Poll` asks for it with the last ETag in `If-None-Match` (while nothing changed
 * the server answers 304 without building or sending anything), stands by while the panel
 * (or the browser tab) is hidden, backs off on errors, and keeps the last error until a
 * request works again. A subclass says how to ask (`fetch`) and what to do with a new
 * value (`receive`); `changed` tells its panel to draw again.
 */
import { IDisposable } from '@lumino/disposable';
import { IPoll, Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

/** What one request gave: a new value (the fields of `T`) with its ETag, or "not modified". */
export type Fetched<T extends object> =
  ({ status: 200; etag: string | null } & T) | { status: 304 };

export interface IPolledResourceOptions {
  /** the poll's name (lumino shows it when debugging) */
  name: string;
  /** seconds between two polls while the panel is visible */
  pollSeconds: number;
}

export abstract class PolledResource<T extends object> implements IDisposable {
  constructor(options: IPolledResourceOptions) {
    this._poll = new Poll({
      auto: false,
      factory: () => this._update(),
      frequency: PolledResource.frequency(options.pollSeconds),
      name: options.name,
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

  /** Emitted when the value, the error or anything a subclass shows changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The message of the last failed request, null once a request worked again. */
  get error(): string | null {
    return this._error;
  }

  /** The ETag of the value held (what the next poll sends as If-None-Match). */
  get etag(): string | null {
    return this._etag;
  }

  /** Whether the panel is visible: polling runs only then. Turning it on asks at once. */
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
    this._poll.frequency = PolledResource.frequency(seconds);
  }

  /** Ask now; with `force`, without If-None-Match (the whole value comes back). */
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

  /**
   * One request, sending `etag` (when not null) as If-None-Match. Null drops the answer
   * (what was asked changed while it ran, and the refresh that change made asks again).
   */
  protected abstract fetch(etag: string | null): Promise<Fetched<T> | null>;

  /** Take a new value (its ETag is already held); `ms`: how long its request took. Emit `changed` if it shows. */
  protected abstract receive(
    value: { status: 200; etag: string | null } & T,
    ms: number
  ): void;

  /** The message a failed request leaves in `error`. */
  protected errorMessage(reason: unknown): string {
    return (reason as Error).message ?? String(reason);
  }

  protected emitChanged(): void {
    this._changed.emit();
  }

  /** One poll: a 304 changes nothing; a value is received. Errors are kept, and rethrown so the poll backs off. */
  private async _update(): Promise<void> {
    const started = Date.now();
    let response: Fetched<T> | null;
    try {
      response = await this.fetch(this._etag);
    } catch (reason) {
      const message = this.errorMessage(reason);
      if (message !== this._error) {
        this._error = message;
        this._changed.emit();
      }
      throw reason;
    }
    if (response === null) {
      return;
    }
    const recovered = this._error !== null;
    this._error = null;
    if (response.status === 304) {
      if (recovered) {
        this._changed.emit();
      }
      return;
    }
    this._etag = response.etag;
    this.receive(response, Date.now() - started);
  }

  private _poll: Poll;
  private _changed = new Signal<this, void>(this);
  private _ticked = new Signal<this, string>(this);
  private _error: string | null = null;
  private _etag: string | null = null;
  private _active = false;
}
