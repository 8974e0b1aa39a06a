// The compare panel's model: the queries it sends, the sort cycle, polling with the ETag, and the plot's points.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import {
  CompareModel,
  CompareResponse,
  ICompareQuery,
  ICompareTable,
  nextSort,
  plotPoints,
  queryParams,
  sortDirection
} from '../src/compareModel';

function table(accs: Array<number | null>, tags: string[] = []): ICompareTable {
  return {
    name: 'sweep',
    hidden: 2,
    notes: [],
    columns: [
      { group: 'run', key: 'tag', label: 'tag', differs: true },
      { group: 'config', key: 'config.lr', label: 'config.lr', differs: true },
      {
        group: 'metric',
        key: 'metrics.acc',
        label: 'metrics.acc',
        differs: true
      },
      { group: 'metric', key: 'metrics.n', label: 'metrics.n', differs: false }
    ],
    rows: accs.map((acc, number) => ({
      version: tags[number] ? `v${number}:${tags[number]}` : `v${number}`,
      number,
      tag: tags[number] ?? null,
      path: `sweep/v${number}`,
      cells: [
        { value: tags[number] ?? null, text: tags[number] ?? '' },
        { value: 0.1 / (number + 1), text: String(0.1 / (number + 1)) },
        { value: acc, text: acc === null ? '' : String(acc) },
        { value: 3, text: '3' }
      ]
    }))
  };
}

/** A transport that answers from a script and records every query and ETag it was sent. */
class Server {
  constructor(private answers: Array<CompareResponse | Error>) {}
  sent: Array<{ query: ICompareQuery; etag: string | null }> = [];
  fetch = async (
    query: ICompareQuery,
    etag: string | null
  ): Promise<CompareResponse> => {
    this.sent.push({ query, etag });
    const answer =
      this.answers.length > 1 ? this.answers.shift()! : this.answers[0];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  };
}

async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('queries', () => {
  it('sends the name, and all, ignore (repeated) and sort only when chosen', () => {
    expect(
      queryParams({ name: 'a b', all: false, ignore: [], sort: null })
    ).toEqual([['name', 'a b']]);
    expect(
      queryParams({
        name: 'x',
        all: true,
        ignore: ['*.seed', 'git'],
        sort: '-metrics.acc'
      })
    ).toEqual([
      ['name', 'x'],
      ['all', '1'],
      ['ignore', '*.seed'],
      ['ignore', 'git'],
      ['sort', '-metrics.acc']
    ]);
  });

  it('sorts ascending on a first click and descending on the next', () => {
    expect(nextSort(null, 'metrics.acc')).toBe('metrics.acc');
    expect(nextSort('metrics.acc', 'metrics.acc')).toBe('-metrics.acc');
    expect(nextSort('-metrics.acc', 'metrics.acc')).toBe('metrics.acc');
    expect(nextSort('-metrics.acc', 'config.lr')).toBe('config.lr');
    expect(sortDirection('-metrics.acc', 'metrics.acc')).toBe('descending');
    expect(sortDirection('metrics.acc', 'metrics.acc')).toBe('ascending');
    expect(sortDirection('metrics.acc', 'config.lr')).toBeNull();
  });
});

describe('plotPoints', () => {
  it('places the numbers over the versions in version order, whatever the sort', () => {
    const sorted = table([0.5, 1.0, 0.75]);
    sorted.rows.reverse();
    const plot = plotPoints(sorted, 'metrics.acc', 200, 100, 10)!;
    expect(plot.points.map(p => p.version)).toEqual(['v0', 'v1', 'v2']);
    expect(plot.points.map(p => p.x)).toEqual([10, 100, 190]);
    expect(plot.points.map(p => p.y)).toEqual([90, 10, 50]);
    expect([plot.min, plot.max]).toEqual([0.5, 1.0]);
  });

  it('skips versions without the metric, centres a constant, and has nothing for unknown columns', () => {
    const plot = plotPoints(
      table([0.5, null, 0.5]),
      'metrics.acc',
      200,
      100,
      10
    )!;
    expect(plot.points.map(p => [p.version, p.y])).toEqual([
      ['v0', 50],
      ['v2', 50]
    ]);
    expect(plotPoints(table([0.5]), 'nope', 200, 100)).toBeNull();
    expect(plotPoints(table([null, null]), 'metrics.acc', 200, 100)).toBeNull();
  });
});

describe('CompareModel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('fetches when shown, polls with the ETag, and takes a new table when a version appears', async () => {
    const first = table([0.5, 0.6]);
    const second = table([0.5, 0.6, 0.7]);
    const server = new Server([
      { status: 200, etag: '"a"', table: first },
      { status: 304 },
      { status: 200, etag: '"b"', table: second }
    ]);
    const model = new CompareModel({
      name: 'sweep',
      fetch: server.fetch,
      pollSeconds: 2
    });
    let changes = 0;
    model.changed.connect(() => changes++);
    await elapse(10_000);
    expect(server.sent).toEqual([]); // nothing while hidden
    model.active = true;
    await elapse(10);
    expect(model.table).toBe(first);
    await elapse(2000);
    expect(model.table).toBe(first);
    expect(changes).toBe(1); // a 304 changes nothing
    await elapse(2000);
    expect(model.table).toBe(second);
    expect(server.sent.map(s => s.etag)).toEqual([null, '"a"', '"a"']);
    model.dispose();
  });

  it('asks again, without the ETag, when a choice changes', async () => {
    const server = new Server([
      { status: 200, etag: '"a"', table: table([0.5, 0.6]) }
    ]);
    const model = new CompareModel({
      name: 'sweep',
      fetch: server.fetch,
      pollSeconds: 60
    });
    model.active = true;
    await elapse(10);
    // each change fetches at once (the poll's timers run in fake time here)
    for (const change of [
      () => model.sortBy('metrics.acc'),
      () => model.sortBy('metrics.acc'),
      () => model.showAll(true),
      () => model.ignore(' *.seed '),
      () => model.ignore('*.seed'), // once is enough
      () => model.unignore('*.seed')
    ]) {
      void change();
      await elapse(10);
    }
    const sent = server.sent.slice(1);
    expect(sent.map(s => s.etag)).toEqual([null, null, null, null, null]);
    expect(sent.map(s => [s.query.sort, s.query.all, s.query.ignore])).toEqual([
      ['metrics.acc', false, []],
      ['-metrics.acc', false, []],
      ['-metrics.acc', true, []],
      ['-metrics.acc', true, ['*.seed']],
      ['-metrics.acc', true, []]
    ]);
    model.dispose();
  });

  it('plots the chosen metric, else the first that differs', async () => {
    const server = new Server([
      { status: 200, etag: '"a"', table: table([0.5, 0.6]) }
    ]);
    const model = new CompareModel({
      name: 'sweep',
      fetch: server.fetch,
      pollSeconds: 60
    });
    expect(model.metric).toBeNull();
    model.active = true;
    await elapse(10);
    expect(model.metricLabels).toEqual(['metrics.acc', 'metrics.n']);
    expect(model.metric).toBe('metrics.acc');
    model.metric = 'metrics.n';
    expect(model.metric).toBe('metrics.n');
    model.metric = 'gone';
    expect(model.metric).toBe('metrics.acc');
    model.dispose();
  });

  it('keeps the last table and says what failed until a fetch works again', async () => {
    const good = table([0.5]);
    const server = new Server([
      { status: 200, etag: '"a"', table: good },
      new Error("No snapshot named 'sweep'"),
      { status: 304 }
    ]);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const model = new CompareModel({
      name: 'sweep',
      fetch: server.fetch,
      pollSeconds: 1
    });
    model.active = true;
    await elapse(1010);
    expect(model.error).toBe("No snapshot named 'sweep'");
    expect(model.table).toBe(good);
    await elapse(5000);
    expect(model.error).toBeNull();
    model.dispose();
  });
});
