/**
 * The snapshot tree as the server sends it (`catalog.tree`), and the flat list of rows
 * the panel shows: only expanded branches are flattened, so a closed version with
 * thousands of artifacts costs one row.
 */

export interface IFileEntry {
  name: string;
  path: string;
  size: number;
  modified: string | null;
}

export interface IArtifact extends IFileEntry {
  kind: string;
  sha256: string | null;
  cell: { execution_count: number | null; cell_id: string | null } | null;
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
  modified: string;
  size: number;
  artifact_count: number;
  logs: IFileEntry[];
  kinds: IKindFolder[];
  warnings?: string[];
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
}

export type RowType =
  | 'snapshot'
  | 'version'
  | 'kind'
  | 'artifact'
  | 'backup'
  | 'log';

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
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function humanSize(size: number): string {
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * Which branches are open. Snapshots and kind folders start open, versions start
 * closed except the newest of each snapshot; a user's toggle wins from then on.
 */
export class Expansion {
  private _choices = new Map<string, boolean>();

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
}

/** A file matches when its path (snapshot/version/folder/name) contains the filter. */
function matches(entry: IFileEntry, needle: string): boolean {
  return entry.path.toLowerCase().includes(needle);
}

function artifactMatches(artifact: IArtifact, needle: string): boolean {
  return matches(artifact, needle) || artifact.backups.some(b => matches(b, needle));
}

/**
 * The rows to show. With a filter, only artifacts, backups and logs whose path
 * (e.g. "mnist/v3:best/jsons/metrics.json") contains it are kept, with their
 * parents, all open.
 */
export function visibleRows(
  tree: ITree | null,
  expansion: Expansion,
  filter: string
): IRow[] {
  const rows: IRow[] = [];
  if (!tree) {
    return rows;
  }
  const needle = filter.trim().toLowerCase();
  const filtering = needle.length > 0;
  for (const snapshot of tree.snapshots) {
    const snapshotRows: IRow[] = [];
    const newest = snapshot.versions.length
      ? snapshot.versions[snapshot.versions.length - 1].path
      : '';
    const snapshotOpen =
      filtering || expansion.isOpen(snapshot.name, 'snapshot', true);
    // newest first: the run a user looks for is usually the last one
    for (let v = snapshot.versions.length - 1; v >= 0; v--) {
      const version = snapshot.versions[v];
      const versionRows = versionChildren(
        version,
        expansion,
        needle,
        version.path === newest
      );
      if (filtering && versionRows === null) {
        continue;
      }
      const open =
        filtering ||
        expansion.isOpen(version.path, 'version', version.path === newest);
      snapshotRows.push({
        id: version.path,
        type: 'version',
        name: version.folder,
        kind: '',
        depth: 1,
        path: version.path,
        detail: `${version.artifact_count} · ${humanSize(version.size)}`,
        expandable: true,
        expanded: open,
        versionPath: version.path
      });
      if (open && versionRows) {
        snapshotRows.push(...versionRows);
      }
    }
    if (filtering && snapshotRows.length === 0) {
      continue;
    }
    rows.push({
      id: snapshot.name,
      type: 'snapshot',
      name: snapshot.name,
      kind: '',
      depth: 0,
      path: snapshot.name,
      detail: `${snapshot.versions.length} v`,
      expandable: true,
      expanded: snapshotOpen,
      versionPath: ''
    });
    if (snapshotOpen) {
      rows.push(...snapshotRows);
    }
  }
  return rows;
}

/** The rows below a version, or null when a filter leaves none. */
function versionChildren(
  version: IVersion,
  expansion: Expansion,
  needle: string,
  newest: boolean
): IRow[] | null {
  const filtering = needle.length > 0;
  if (!filtering && !expansion.isOpen(version.path, 'version', newest)) {
    return [];
  }
  const rows: IRow[] = [];
  for (const log of version.logs) {
    if (filtering && !matches(log, needle)) {
      continue;
    }
    rows.push(fileRow(log, 'log', 'log', 2, version.path));
  }
  for (const folder of version.kinds) {
    const artifacts = filtering
      ? folder.artifacts.filter(a => artifactMatches(a, needle))
      : folder.artifacts;
    if (artifacts.length === 0) {
      continue;
    }
    const id = `${version.path}/${folder.folder}`;
    const open = filtering || expansion.isOpen(id, 'kind', true);
    rows.push({
      id,
      type: 'kind',
      name: folder.folder,
      kind: folder.kind,
      depth: 2,
      path: id,
      detail: String(folder.artifacts.length),
      expandable: true,
      expanded: open,
      versionPath: version.path
    });
    if (!open) {
      continue;
    }
    for (const artifact of artifacts) {
      rows.push(
        fileRow(artifact, 'artifact', artifact.kind, 3, version.path)
      );
      for (const backup of artifact.backups) {
        if (filtering && !matches(backup, needle) && !matches(artifact, needle)) {
          continue;
        }
        rows.push(fileRow(backup, 'backup', artifact.kind, 4, version.path));
      }
    }
  }
  return filtering && rows.length === 0 ? null : rows;
}

function fileRow(
  entry: IFileEntry,
  type: RowType,
  kind: string,
  depth: number,
  versionPath: string
): IRow {
  return {
    id: entry.path,
    type,
    name: entry.name,
    kind,
    depth,
    path: entry.path,
    detail: humanSize(entry.size),
    expandable: false,
    expanded: false,
    versionPath
  };
}

/** The path of a file for JupyterLab (relative to the server root). */
export function serverPath(tree: ITree | null, path: string): string {
  const base = tree ? tree.base : '';
  return base ? `${base}/${path}` : path;
}

/** The version that `path` (a version folder or a file in it) belongs to. */
function versionOf(tree: ITree | null, path: string): IVersion | null {
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
