/** Trees shaped as the server sends them, and a transport that plays scripted answers. */
import { TreeFetcher, TreeResponse } from '../src/model';
import { IArtifact, ITree, IVersion } from '../src/tree';

export function artifact(
  version: string,
  folder: string,
  name: string,
  extra: Partial<IArtifact> = {}
): IArtifact {
  return {
    name,
    path: `${version}/${folder}/${name}`,
    kind: folder.replace(/s$/, ''),
    size: 1536,
    size_text: '1.5 KB',
    modified: '2026-12-01T08:22:22.500680+00:00',
    modified_text: '2026-12-01 08:22:22',
    sha256: 'ab'.repeat(32),
    cell_label: 'In [5]',
    summary: null,
    backups: [],
    ...extra
  };
}

export function version(
  path: string,
  folders: Record<string, string[]>,
  extra: Partial<IVersion> = {}
): IVersion {
  const [name, folder] = path.split('/');
  const kinds = Object.entries(folders).map(([kindFolder, names]) => ({
    kind: kindFolder.replace(/s$/, ''),
    folder: kindFolder,
    artifacts: names.map(n => artifact(path, kindFolder, n))
  }));
  return {
    folder,
    number: Number(folder.slice(1).split(':')[0]),
    tag: folder.includes(':') ? folder.split(':')[1] : null,
    path,
    created: null,
    created_text: null,
    modified: '2026-12-01T08:22:22+00:00',
    modified_text: '2026-12-01 08:22:22',
    size: 46694,
    size_text: '45.6 KB',
    artifact_count: kinds.reduce((n, k) => n + k.artifacts.length, 0),
    logs: [
      {
        name: `${name}.log`,
        path: `${path}/${name}.log`,
        size: 120,
        size_text: '120 B',
        modified: null,
        modified_text: null
      }
    ],
    kinds,
    ...extra
  };
}

export function tree(...versions: IVersion[]): ITree {
  const names = [...new Set(versions.map(v => v.path.split('/')[0]))];
  return {
    root: 'snapshots',
    base: 'snapshots',
    fingerprint: 'f',
    snapshots: names.map(name => ({
      name,
      versions: versions.filter(v => v.path.startsWith(`${name}/`))
    }))
  };
}

/** A TreeFetcher answering from `answers` in turn (the last one repeats), recording what it was sent. */
export class ScriptedServer {
  constructor(answers: Array<TreeResponse | Error>) {
    this.answers = answers;
  }

  readonly sent: Array<string | null> = [];

  readonly fetch: TreeFetcher = async etag => {
    this.sent.push(etag);
    const answer =
      this.answers[Math.min(this.sent.length - 1, this.answers.length - 1)];
    if (answer instanceof Error) {
      throw answer;
    }
    return answer;
  };

  /** what the next fetches get (replace it to change the script) */
  answers: Array<TreeResponse | Error>;
}
