import { nullTranslator } from '@jupyterlab/translation';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { SnapshotModel, TreeResponse } from '../src/model';
import { ScriptedServer, tree, version } from './fixtures';

const trans = nullTranslator.load('opencrate_nb');
const first = tree(version('mnist/v0', { jsons: ['metrics.json'] }));
const second = tree(
  version('mnist/v0', { jsons: ['metrics.json'] }),
  version('mnist/v1', { jsons: ['metrics.json', 'extra.json'] })
);
const notModified: TreeResponse = { status: 304 };

function model(server: ScriptedServer, pollSeconds = 3): SnapshotModel {
  return new SnapshotModel({ fetchTree: server.fetch, trans, pollSeconds });
}

/** Let the poll's timers and promises run for `ms` of fake time. */
async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

describe('SnapshotModel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('asks for nothing until the panel is shown', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first }
    ]);
    const subject = model(server);
    await elapse(30_000);
    expect(server.sent).toEqual([]);
    expect(subject.tree).toBeNull();
    expect(subject.rows).toEqual([]);
    subject.dispose();
  });

  it('fetches when shown, then polls with the ETag it got', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first },
      notModified,
      notModified,
      { status: 200, etag: '"b"', tree: second }
    ]);
    const subject = model(server);
    let changes = 0;
    subject.changed.connect(() => changes++);
    subject.active = true;
    await elapse(10);
    expect(server.sent).toEqual([null]);
    expect(subject.tree).toBe(first);
    expect(subject.etag).toBe('"a"');
    expect(changes).toBe(1);
    const rows = subject.rows;

    await elapse(3000 * 2);
    expect(server.sent).toEqual([null, '"a"', '"a"']);
    expect(subject.rows).toBe(rows); // 304: nothing rebuilt, nothing emitted
    expect(changes).toBe(1);

    await elapse(3000);
    expect(server.sent).toEqual([null, '"a"', '"a"', '"a"']);
    expect(subject.tree).toBe(second);
    expect(subject.etag).toBe('"b"');
    expect(changes).toBe(2);
    expect(
      subject.rows.filter(r => r.type === 'version').map(r => r.name)
    ).toEqual(['v1', 'v0']);
    subject.dispose();
  });

  it('stands by while hidden and fetches at once when shown again', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first },
      notModified
    ]);
    const subject = model(server);
    subject.active = true;
    await elapse(3000 + 10);
    expect(server.sent).toHaveLength(2);
    const phases: string[] = [];
    subject.ticked.connect((_, phase) => phases.push(phase));
    subject.active = false;
    await elapse(60_000);
    expect(server.sent).toHaveLength(2);
    expect(phases.length).toBeGreaterThan(10); // it kept ticking, standing by
    expect(new Set(phases)).toEqual(new Set(['standby']));
    subject.active = true;
    await elapse(10);
    expect(server.sent).toEqual([null, '"a"', '"a"']);
    subject.dispose();
  });

  it('polls at the interval the settings give', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first },
      notModified
    ]);
    const subject = model(server, 10);
    subject.active = true;
    await elapse(9000);
    expect(server.sent).toHaveLength(1);
    await elapse(1010);
    expect(server.sent).toHaveLength(2);
    subject.pollSeconds = 1;
    await elapse(10_000 + 3 * 1000);
    expect(server.sent.length).toBeGreaterThanOrEqual(5);
    expect(SnapshotModel.frequency(0.1).interval).toBe(1000); // never faster than once a second
    subject.dispose();
  });

  it('keeps an error until a fetch works again, and backs off meanwhile', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first },
      new Error('server went away')
    ]);
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the poll's back-off jitter, made repeatable
    const subject = model(server);
    const errors: Array<string | null> = [];
    subject.changed.connect(() => errors.push(subject.error));
    subject.active = true;
    await elapse(3000 + 10);
    expect(subject.error).toBe(
      'Could not read the snapshots: server went away'
    );
    expect(subject.tree).toBe(first); // the last good tree stays
    await elapse(120_000);
    const failed = server.sent.length - 1;
    expect(failed).toBeGreaterThan(3);
    expect(failed).toBeLessThan(10); // backed off: every 3 s would have been 41
    expect(errors).toEqual([
      null,
      'Could not read the snapshots: server went away'
    ]);

    server.answers = [notModified];
    await elapse(60_000);
    expect(subject.error).toBeNull();
    expect(errors).toEqual([
      null,
      'Could not read the snapshots: server went away',
      null
    ]);
    const recovered = server.sent.length;
    await elapse(9000);
    expect(server.sent.length - recovered).toBe(3); // back to every 3 s
    subject.dispose();
  });

  it('refresh(true) asks for the whole tree again', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: first }
    ]);
    const subject = model(server);
    subject.active = true;
    await elapse(10);
    const done = subject.refresh(true);
    await elapse(10);
    await done;
    expect(server.sent).toEqual([null, null]);
    subject.dispose();
  });

  it('filters and toggles the rows it holds', async () => {
    const server = new ScriptedServer([
      { status: 200, etag: '"a"', tree: second }
    ]);
    const subject = model(server);
    subject.active = true;
    await elapse(10);
    let changes = 0;
    subject.changed.connect(() => changes++);
    subject.filter = 'V1 extra';
    expect(subject.rows.map(r => r.name)).toEqual([
      'mnist',
      'v1',
      'jsons',
      'extra.json'
    ]);
    subject.filter = 'V1 extra';
    expect(changes).toBe(1); // the same query again changes nothing
    subject.filter = '';
    subject.toggle('mnist/v1', false);
    expect(subject.rows.map(r => r.name)).toEqual(['mnist', 'v1', 'v0']);
    expect(changes).toBe(3);
    subject.dispose();
    expect(subject.isDisposed).toBe(true);
  });
});
