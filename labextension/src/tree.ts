/**
 * The snapshot tree as the server sends it (`GET opencrate/api/tree`), and the flat list of
 * rows the panel draws: only expanded branches are flattened, so a closed version with
 * thousands of artifacts costs one row.
 *
 * Sizes, times and saving cells arrive rendered (`size_text`, `modified_text`,
 * `created_text`, `cell_label`): the server formats them once for every UI, nothing here
 * formats them again.
 */
import { TranslationBundle } from '@jupyterlab/translation';

export interface IFileEntry {
  name: string;
  path: string;
  size: number;
  size_text: string;
  modified: string | null;
  modified_text: string | null;
}

export interface IArtifact extends IFileEntry {
  kind: string;
  sha256: string | null;
  /** the saving cell as a notebook shows it ("In [5]"), or null */
  cell_label: string | null;
  /** the handler's one-line summary, when the server could make it cheaply */
  summary: string | null;
  backups: IFileEntry[];
}

export interface IKindFolder {
  kind: string;
  folder: string;
  artifacts: IArtifact[];
}

export interface IVersion {
  folder: string;
  number: number;
  tag: string | null;
  path: string;
  created: string | null;
  created_text: string | null;
  modified: string;
  modified_text: string | null;
  size: number;
  size_text: string;
  artifact_count: number;
  logs: IFileEntry[];
  kinds: IKindFolder[];
  warnings?: string[];
  /** its run notebook (`<version>/run.ipynb`) when it captured cells, else null (absent from older servers) */
  notebook?: string | null;
}

export interface ISnapshot {
  name: string;
  versions: IVersion[];
}

export interface ITree {
  root: string;
  /** the snapshot root relative to the server root ("" when they are the same) */
  base: string;
  fingerprint: string;
  snapshots: ISnapshot[];
  /**
   * The other snapshot roots below the server root (a notebook in `experiments/` writes
   * `experiments/snapshots/`), each a tree of its own; empty or absent when there is one root.
   */
  roots?: ITree[];
}

export type RowType =
  'folder' | 'snapshot' | 'version' | 'kind' | 'artifact' | 'backup' | 'log';

export interface IRow {
  /** stable id: the path relative to the snapshot root (kind folders and snapshots too) */
  id: string;
  type: RowType;
  name: string;
  /** artifact kind, "log", or "" for snapshots and versions */
  kind: string;
  depth: number;
  /** the file's path for artifacts, backups and logs; the version folder for versions */
  path: string;
  detail: string;
  expandable: boolean;
  expanded: boolean;
  versionPath: string;
  /** the base of the row's snapshot root ("" for the configured root): requests send it as `root` */
  root: string;
}

/**
 * Which branches are open. Snapshots and kind folders start open, versions start
 * closed except the newest of each snapshot; a user's toggle wins from then on.
 */
export class Expansion {
  isOpen(id: string, type: RowType, newest: boolean): boolean {
    const choice = this._choices.get(id);
    if (choice !== undefined) {
      return choice;
    }
    return type !== 'version' || newest;
  }

  set(id: string, open: boolean): void {
    this._choices.set(id, open);
  }

  private _choices = new Map<string, boolean>();
}

/** The terms of a filter query: whitespace-separated, lower-cased; none for a blank query. */
export function queryTerms(query: string): string[] {
  return query.toLowerCase().split(/\s+/).filter(Boolean);
}

/**
 * The filtering rule shared with the notebook widget: an item matches when every term
 * occurs, case-insensitively, in its path relative to the root (which includes its name).
 */
export function pathMatches(path: string, terms: string[]): boolean {
  const lower = path.toLowerCase();
  return terms.every(term => lower.includes(term));
}

function artifactMatches(artifact: IArtifact, terms: string[]): boolean {
  return (
    pathMatches(artifact.path, terms) ||
    artifact.backups.some(b => pathMatches(b.path, terms))
  );
}

/**
 * The rows to show. With a filter, an item is kept when it matches or one of its
 * descendants does (see `pathMatches`), and every branch kept is shown open.
 */
export function visibleRows(
  tree: ITree | null,
  expansion: Expansion,
  query: string,
  trans: TranslationBundle
): IRow[] {
  if (!tree) {
    return [];
  }
  const others = tree.roots ?? [];
  if (others.length === 0) {
    return rootRows(tree, '', 0, expansion, query, trans);
  }
  // several roots: one folder row per root (its path below the server root), its snapshots inside
  const rows: IRow[] = [];
  const groups: [ITree, string][] = [
    [tree, ''],
    ...others.map(o => [o, o.base] as [ITree, string])
  ];
  for (const [rootTree, root] of groups) {
    const id = `${root}//`;
    const open = expansion.isOpen(id, 'folder', true);
    const inner =
      open || query.trim()
        ? rootRows(rootTree, root, 1, expansion, query, trans)
        : [];
    if (query.trim() && inner.length === 0) {
      continue;
    }
    const label = rootTree.base || rootTree.root;
    rows.push({
      id,
      type: 'folder',
      name: label,
      kind: '',
      depth: 0,
      path: label,
      detail: '', // the whole width for the folder's path (its rows count the snapshots)
      expandable: true,
      expanded: open || query.trim().length > 0,
      versionPath: '',
      root
    });
    rows.push(...(open || query.trim() ? inner : []));
  }
  return rows;
}

/** The rows of one root's snapshots; `root` prefixes ids (so two roots' `mnist` stay apart) and `depth` indents. */
function rootRows(
  tree: ITree,
  root: string,
  depth: number,
  expansion: Expansion,
  query: string,
  trans: TranslationBundle
): IRow[] {
  const rows: IRow[] = [];
  const prefix = root ? `${root}//` : '';
  const terms = queryTerms(query);
  const filtering = terms.length > 0;
  for (const snapshot of tree.snapshots) {
    const snapshotRows: IRow[] = [];
    const newest = snapshot.versions.length
      ? snapshot.versions[snapshot.versions.length - 1].path
      : '';
    const snapshotOpen =
      filtering || expansion.isOpen(prefix + snapshot.name, 'snapshot', true);
    // newest first: the run a user looks for is usually the last one
    for (let v = snapshot.versions.length - 1; v >= 0; v--) {
      const version = snapshot.versions[v];
      const isNewest = version.path === newest;
      const children = versionChildren(
        version,
        expansion,
        terms,
        isNewest,
        prefix,
        depth,
        trans
      );
      if (
        filtering &&
        children.length === 0 &&
        !pathMatches(version.path, terms)
      ) {
        continue;
      }
      const open =
        filtering ||
        expansion.isOpen(prefix + version.path, 'version', isNewest);
      snapshotRows.push({
        id: prefix + version.path,
        type: 'version',
        name: version.folder,
        kind: '',
        depth: depth + 1,
        path: version.path,
        detail: `${trans._n('%1 artifact', '%1 artifacts', version.artifact_count)} · ${version.size_text}`,
        expandable: true,
        expanded: open,
        versionPath: version.path,
        root
      });
      if (open) {
        snapshotRows.push(...children);
      }
    }
    if (
      filtering &&
      snapshotRows.length === 0 &&
      !pathMatches(snapshot.name, terms)
    ) {
      continue;
    }
    rows.push({
      id: prefix + snapshot.name,
      type: 'snapshot',
      name: snapshot.name,
      kind: '',
      depth,
      path: snapshot.name,
      detail: trans._n('%1 version', '%1 versions', snapshot.versions.length),
      expandable: true,
      expanded: snapshotOpen,
      versionPath: '',
      root
    });
    if (snapshotOpen) {
      rows.push(...snapshotRows);
    }
  }
  return rows;
}

/** The rows below a version (none while it is closed and no filter is set). */
function versionChildren(
  version: IVersion,
  expansion: Expansion,
  terms: string[],
  newest: boolean,
  prefix: string,
  depth: number,
  trans: TranslationBundle
): IRow[] {
  const filtering = terms.length > 0;
  if (
    !filtering &&
    !expansion.isOpen(prefix + version.path, 'version', newest)
  ) {
    return [];
  }
  const root = prefix ? prefix.slice(0, -2) : '';
  const file = (
    entry: IFileEntry,
    type: RowType,
    kind: string,
    level: number
  ) => fileRow(entry, type, kind, depth + level, version.path, prefix, root);
  const rows: IRow[] = [];
  for (const log of version.logs) {
    if (!filtering || pathMatches(log.path, terms)) {
      rows.push(file(log, 'log', 'log', 2));
    }
  }
  for (const folder of version.kinds) {
    const path = `${version.path}/${folder.folder}`;
    const id = prefix + path;
    const artifacts = filtering
      ? folder.artifacts.filter(a => artifactMatches(a, terms))
      : folder.artifacts;
    if (artifacts.length === 0 && !(filtering && pathMatches(path, terms))) {
      continue;
    }
    const open = filtering || expansion.isOpen(id, 'kind', true);
    rows.push({
      id,
      type: 'kind',
      name: folder.folder,
      kind: folder.kind,
      depth: depth + 2,
      path,
      detail: trans._n('%1 artifact', '%1 artifacts', folder.artifacts.length),
      expandable: true,
      expanded: open,
      versionPath: version.path,
      root
    });
    if (!open) {
      continue;
    }
    for (const artifact of artifacts) {
      rows.push(file(artifact, 'artifact', artifact.kind, 3));
      for (const backup of artifact.backups) {
        if (!filtering || pathMatches(backup.path, terms)) {
          rows.push(file(backup, 'backup', artifact.kind, 4));
        }
      }
    }
  }
  return rows;
}

function fileRow(
  entry: IFileEntry,
  type: RowType,
  kind: string,
  depth: number,
  versionPath: string,
  prefix: string,
  root: string
): IRow {
  return {
    id: prefix + entry.path,
    type,
    name: entry.name,
    kind,
    depth,
    path: entry.path,
    detail: entry.size_text,
    expandable: false,
    expanded: false,
    versionPath,
    root
  };
}

/** The tree of the root a row belongs to (`root`: its base, "" for the configured root). */
export function treeOf(tree: ITree | null, root: string): ITree | null {
  if (!tree || !root) {
    return tree;
  }
  return (tree.roots ?? []).find(r => r.base === root) ?? null;
}

/** The path of a file for JupyterLab (relative to the server root). */
export function serverPath(tree: ITree | null, path: string): string {
  const base = tree ? tree.base : '';
  return base ? `${base}/${path}` : path;
}

/** The version that `path` (a version folder or a file in it) belongs to. */
export function versionOf(tree: ITree | null, path: string): IVersion | null {
  const [name] = path.split('/');
  const snapshot = tree?.snapshots.find(s => s.name === name);
  const found = snapshot?.versions.find(
    v => path === v.path || path.startsWith(v.path + '/')
  );
  return found ?? null;
}

/** The run log of a version (`<name>.log`), if the version has one. */
export function versionLog(
  tree: ITree | null,
  versionPath: string
): IFileEntry | null {
  const version = versionOf(tree, versionPath);
  if (!version) {
    return null;
  }
  const name = versionPath.split('/')[0];
  return (
    version.logs.find(l => l.name === `${name}.log`) ?? version.logs[0] ?? null
  );
}

/**
 * The run notebook a row offers to open ("Open Run Notebook"): a version row's `run.ipynb`
 * (relative to its snapshot root) when the version captured cells; null for any other row.
 */
export function runNotebookOf(tree: ITree | null, row: IRow): string | null {
  if (row.type !== 'version') {
    return null;
  }
  const version = versionOf(treeOf(tree, row.root), row.path);
  return version?.path === row.path ? (version.notebook ?? null) : null;
}

/** Artifact facts for the preview header, found by path. */
export function findArtifact(
  tree: ITree | null,
  path: string
): IArtifact | null {
  for (const folder of versionOf(tree, path)?.kinds ?? []) {
    const found = folder.artifacts.find(a => a.path === path);
    if (found) {
      return found;
    }
  }
  return null;
}
