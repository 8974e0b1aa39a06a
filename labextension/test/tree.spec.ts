import { nullTranslator } from '@jupyterlab/translation';
import { describe, expect, it } from 'vitest';

import {
  Expansion,
  findArtifact,
  pathMatches,
  queryTerms,
  runNotebookOf,
  serverPath,
  treeOf,
  versionLog,
  visibleRows
} from '../src/tree';
import { artifact, tree, version } from './fixtures';

const trans = nullTranslator.load('opencrate_nb');

function names(query: string, expansion = new Expansion()): string[] {
  const mnist = version('mnist/v1:best', {
    jsons: ['metrics.json', 'loss_curve.json'],
    images: ['grid.png']
  });
  mnist.kinds[0].artifacts[0].backups = [
    {
      name: 'metrics.backup_old.json',
      path: 'mnist/v1:best/jsons/metrics.backup_old.json',
      size: 10,
      size_text: '10 B',
      modified: null,
      modified_text: null
    }
  ];
  const snapshots = tree(
    version('mnist/v0', { jsons: ['metrics.json'] }),
    mnist,
    version('cifar/v0', { audios: ['tone.wav'] })
  );
  return visibleRows(snapshots, expansion, query, trans).map(r => r.name);
}

describe('the filter', () => {
  it('splits a query into lower-case terms', () => {
    expect(queryTerms('  Mnist   V1\tLOSS ')).toEqual(['mnist', 'v1', 'loss']);
    expect(queryTerms('   ')).toEqual([]);
  });

  it('matches when every term is in the path, case-insensitively', () => {
    expect(
      pathMatches('mnist/v1:best/jsons/Metrics.json', [
        'metrics',
        'V1'.toLowerCase()
      ])
    ).toBe(true);
    expect(
      pathMatches('mnist/v1:best/jsons/metrics.json', ['metrics', 'cifar'])
    ).toBe(false);
    expect(pathMatches('anything', [])).toBe(true);
  });

  it('keeps the matching items and their parents, all open', () => {
    expect(names('mnist LOSS')).toEqual([
      'mnist',
      'v1:best',
      'jsons',
      'loss_curve.json'
    ]);
    expect(names('tone')).toEqual(['cifar', 'v0', 'audios', 'tone.wav']);
  });

  it('matches the whole path, not only the name', () => {
    expect(names('v1 images')).toEqual([
      'mnist',
      'v1:best',
      'images',
      'grid.png'
    ]);
    expect(names('best metrics')).toEqual([
      'mnist',
      'v1:best',
      'jsons',
      'metrics.json',
      'metrics.backup_old.json'
    ]);
  });

  it('keeps an artifact whose backup matches, and a log by its path', () => {
    expect(names('backup_old')).toEqual([
      'mnist',
      'v1:best',
      'jsons',
      'metrics.json',
      'metrics.backup_old.json'
    ]);
    expect(names('cifar .log')).toEqual(['cifar', 'v0', 'cifar.log']);
  });

  it('shows nothing when nothing matches', () => {
    expect(names('nothing-like-this')).toEqual([]);
  });
});

describe('the rows', () => {
  it('open the newest version of each snapshot, newest first', () => {
    expect(names('')).toEqual([
      'mnist',
      'v1:best',
      'mnist.log',
      'jsons',
      'metrics.json',
      'metrics.backup_old.json',
      'loss_curve.json',
      'images',
      'grid.png',
      'v0',
      'cifar',
      'v0',
      'cifar.log',
      'audios',
      'tone.wav'
    ]);
  });

  it('follow the toggles a user made', () => {
    const expansion = new Expansion();
    expansion.set('mnist/v1:best', false);
    expansion.set('mnist/v0', true);
    expansion.set('mnist/v0/jsons', false);
    expansion.set('cifar', false);
    expect(names('', expansion)).toEqual([
      'mnist',
      'v1:best',
      'v0',
      'mnist.log',
      'jsons',
      'cifar'
    ]);
  });

  it('show the sizes the server rendered, and count versions in words', () => {
    const rows = visibleRows(
      tree(version('mnist/v0', { jsons: ['a.json'] })),
      new Expansion(),
      '',
      trans
    );
    const detail = Object.fromEntries(rows.map(r => [r.name, r.detail]));
    expect(detail).toEqual({
      mnist: '1 version',
      v0: '1 artifact · 45.6 KB',
      'mnist.log': '120 B',
      jsons: '1 artifact',
      'a.json': '1.5 KB'
    });
  });

  it("group several snapshot roots by folder, keeping two roots' snapshots apart", () => {
    const main = tree(version('mnist/v0', { jsons: ['a.json'] }));
    const other = {
      ...tree(version('mnist/v0', { texts: ['b.txt'] })),
      root: 'snapshots',
      base: 'experiments/snapshots'
    };
    main.roots = [other];
    const rows = visibleRows(main, new Expansion(), '', trans);
    expect(rows.map(r => [r.type, r.name, r.depth, r.root])).toEqual([
      ['folder', main.base || main.root, 0, ''],
      ['snapshot', 'mnist', 1, ''],
      ['version', 'v0', 2, ''],
      ['log', 'mnist.log', 3, ''],
      ['kind', 'jsons', 3, ''],
      ['artifact', 'a.json', 4, ''],
      ['folder', 'experiments/snapshots', 0, 'experiments/snapshots'],
      ['snapshot', 'mnist', 1, 'experiments/snapshots'],
      ['version', 'v0', 2, 'experiments/snapshots'],
      ['log', 'mnist.log', 3, 'experiments/snapshots'],
      ['kind', 'texts', 3, 'experiments/snapshots'],
      ['artifact', 'b.txt', 4, 'experiments/snapshots']
    ]);
    expect(new Set(rows.map(r => r.id)).size).toBe(rows.length);
    expect(rows[7].path).toBe('mnist'); // paths stay relative to their own root
    expect(treeOf(main, 'experiments/snapshots')).toBe(other);
    expect(treeOf(main, '')).toBe(main);
    const expansion = new Expansion();
    expansion.set('experiments/snapshots//', false);
    const closed = visibleRows(main, expansion, '', trans);
    expect(closed[closed.length - 1].name).toBe('experiments/snapshots');
    expect(
      visibleRows(main, new Expansion(), 'b.txt', trans).map(r => r.name)
    ).toEqual(['experiments/snapshots', 'mnist', 'v0', 'texts', 'b.txt']);
  });

  it('are empty without a tree', () => {
    expect(visibleRows(null, new Expansion(), 'x', trans)).toEqual([]);
  });
});

describe('lookups in the tree', () => {
  const snapshots = tree(
    version('mnist/v0', { jsons: ['metrics.json'] }, { logs: [] }),
    version('mnist/v1', { jsons: ['metrics.json'] })
  );

  it('find the run log of a version, or none', () => {
    expect(versionLog(snapshots, 'mnist/v1/jsons/metrics.json')?.path).toBe(
      'mnist/v1/mnist.log'
    );
    expect(versionLog(snapshots, 'mnist/v0')).toBeNull();
    expect(versionLog(snapshots, 'other/v0')).toBeNull();
  });

  it('find an artifact by path', () => {
    expect(findArtifact(snapshots, 'mnist/v1/jsons/metrics.json')).toEqual(
      artifact('mnist/v1', 'jsons', 'metrics.json')
    );
    expect(findArtifact(snapshots, 'mnist/v1/jsons/none.json')).toBeNull();
  });

  it('give paths relative to the server root', () => {
    expect(serverPath(snapshots, 'mnist/v0')).toBe('snapshots/mnist/v0');
    expect(serverPath({ ...snapshots, base: '' }, 'mnist/v0')).toBe('mnist/v0');
  });
});

describe('the run notebook a row offers', () => {
  const captured = version(
    'mnist/v1:best',
    { jsons: ['metrics.json'] },
    { notebook: 'mnist/v1:best/run.ipynb' }
  );
  const main = tree(
    version('mnist/v0', { jsons: ['metrics.json'] }, { notebook: null }),
    captured
  );
  main.roots = [
    {
      ...tree({ ...captured, notebook: undefined }),
      base: 'experiments/snapshots'
    }
  ];
  const rows = visibleRows(main, new Expansion(), 'mnist', trans);
  const row = (name: string, root = '') =>
    rows.find(r => r.name === name && r.root === root)!;

  it('is the run.ipynb of a version that captured cells', () => {
    expect(runNotebookOf(main, row('v1:best'))).toBe('mnist/v1:best/run.ipynb');
  });

  it('is none for a version without one, or from a server that does not say', () => {
    expect(runNotebookOf(main, row('v0'))).toBeNull();
    expect(
      runNotebookOf(main, row('v1:best', 'experiments/snapshots'))
    ).toBeNull();
  });

  it('is none for the rows inside a version and above it', () => {
    const inside = rows.filter(
      r => r.versionPath === 'mnist/v1:best' && r.root === ''
    );
    expect(inside.map(r => r.type)).toEqual([
      'version',
      'log',
      'kind',
      'artifact'
    ]);
    for (const other of [...inside.slice(1), row('mnist'), rows[0]]) {
      expect(runNotebookOf(main, other)).toBeNull();
    }
  });
});
