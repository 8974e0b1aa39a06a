import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { Fetched, PolledResource } from '../src/polled';

type Answer = Fetched<{ count: number }> | Error | null;

/** The smallest resource: a number, fetched from a script of answers (the last one repeats). */
class Counter extends PolledResource<{ count: number }> {
  constructor(
    public answers: Answer[],
    pollSeconds = 3
  ) {
    super({ name: 'test:counter', pollSeconds });
  }

  readonly sent: Array<string | null> = [];
  readonly received: Array<[number, number]> = [];

  protected async fetch(
    etag: string | null
  ): Promise<Fetched<{ count: number }> | null> {
    this.sent.push(etag);
    const answer =
      this.answers[Math.min(this.sent.length - 1, this.answers.length - 1)];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  }

  protected receive(value: { count: number }, ms: number): void {
    this.received.push([value.count, ms]);
    this.emitChanged();
  }
}

const notModified = { status: 304 } as const;

function value(count: number, etag = `"${count}"`): Answer {
  return { status: 200, etag, count };
}

async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('PolledResource', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('asks for nothing until it is active', async () => {
    const subject = new Counter([value(1)]);
    await elapse(30_000);
    expect(subject.sent).toEqual([]);
    expect(subject.etag).toBeNull();
    subject.dispose();
  });

  it('asks at once when active, then with the ETag it holds; a 304 changes nothing', async () => {
    const subject = new Counter([value(1), notModified, value(2)]);
    let changes = 0;
    subject.changed.connect(() => changes++);
    subject.active = true;
    await elapse(10);
    expect(subject.sent).toEqual([null]);
    expect(subject.received.map(([count]) => count)).toEqual([1]);
    expect(subject.etag).toBe('"1"');
    await elapse(3000);
    expect(subject.sent).toEqual([null, '"1"']);
    expect(changes).toBe(1);
    await elapse(3000);
    expect(subject.sent).toEqual([null, '"1"', '"1"']);
    expect(subject.etag).toBe('"2"');
    expect(changes).toBe(2);
    subject.dispose();
  });

  it('stands by while inactive, ticking, and asks at once when active again', async () => {
    const subject = new Counter([value(1), notModified]);
    subject.active = true;
    await elapse(3000 + 10);
    expect(subject.sent).toHaveLength(2);
    const phases: string[] = [];
    subject.ticked.connect((_, phase) => phases.push(phase));
    subject.active = false;
    await elapse(60_000);
    expect(subject.sent).toHaveLength(2);
    expect(phases.length).toBeGreaterThan(10);
    expect(new Set(phases)).toEqual(new Set(['standby']));
    subject.active = true;
    await elapse(10);
    expect(subject.sent).toEqual([null, '"1"', '"1"']);
    subject.dispose();
  });

  it('keeps the error until a request works, emitting each change once, and backs off', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the poll's back-off jitter, made repeatable
    const subject = new Counter([value(1), new Error('gone')]);
    const errors: Array<string | null> = [];
    subject.changed.connect(() => errors.push(subject.error));
    subject.active = true;
    await elapse(3000 + 10);
    expect(subject.error).toBe('gone');
    await elapse(120_000);
    const failed = subject.sent.length - 1;
    expect(failed).toBeGreaterThan(3);
    expect(failed).toBeLessThan(10); // every 3 s would have been 41
    expect(errors).toEqual([null, 'gone']);
    subject.answers = [notModified]; // a 304 after errors: the error goes, and that is a change
    await elapse(60_000);
    expect(subject.error).toBeNull();
    expect(errors).toEqual([null, 'gone', null]);
    const recovered = subject.sent.length;
    await elapse(9000);
    expect(subject.sent.length - recovered).toBe(3);
    subject.dispose();
  });

  it('drops an answer the subclass refuses (null), error and value unchanged', async () => {
    const subject = new Counter([value(1), new Error('gone'), null]);
    subject.active = true;
    await elapse(3000 + 10);
    expect(subject.error).toBe('gone');
    await elapse(60_000);
    expect(subject.received.map(([count]) => count)).toEqual([1]);
    expect(subject.error).toBe('gone');
    expect(subject.etag).toBe('"1"');
    subject.dispose();
  });

  it('refresh asks now, with the ETag; refresh(true) without it', async () => {
    const subject = new Counter([value(1)]);
    subject.active = true;
    await elapse(10);
    let done = subject.refresh();
    await elapse(10);
    await done;
    done = subject.refresh(true);
    await elapse(10);
    await done;
    expect(subject.sent).toEqual([null, '"1"', null]);
    subject.dispose();
  });

  it('polls at the interval it is given, never faster than once a second', async () => {
    const subject = new Counter([value(1), notModified], 10);
    subject.active = true;
    await elapse(9000);
    expect(subject.sent).toHaveLength(1);
    await elapse(1010);
    expect(subject.sent).toHaveLength(2);
    subject.pollSeconds = 1;
    await elapse(10_000 + 3000);
    expect(subject.sent.length).toBeGreaterThanOrEqual(5);
    expect(PolledResource.frequency(0.1)).toEqual({
      interval: 1000,
      backoff: true,
      max: 60_000
    });
    expect(PolledResource.frequency(120).max).toBe(120_000);
    subject.dispose();
  });

  it('stops asking and emitting once disposed', async () => {
    const subject = new Counter([value(1)]);
    let changes = 0;
    subject.changed.connect(() => changes++);
    subject.dispose();
    subject.active = true;
    await elapse(10_000);
    expect(subject.isDisposed).toBe(true);
    expect(subject.active).toBe(false);
    expect(subject.sent).toEqual([]);
    expect(changes).toBe(0);
    subject.dispose(); // twice is fine
  });
});
