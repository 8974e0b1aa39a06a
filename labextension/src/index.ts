/**
 * opencrate-nb's JupyterLab extension: the "OpenCrate snapshots" sidebar, its commands
 * (open the panel from the palette, open a file, insert a load snippet into the current
 * notebook, copy path, open log, open a version's run notebook, refresh) and its context menu.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { openComparePanel } from './compare';
import { crateIcon } from './icons';
import { SnapshotModel } from './model';
import { IPanelSettings, PANEL_ID, SnapshotPanel } from './panel';
import { fetchTree, requestAPI } from './request';
import { IRow, runNotebookOf, serverPath, treeOf, versionLog } from './tree';

const PLUGIN_ID = 'opencrate-nb-labextension:plugin';

namespace CommandIDs {
  export const open = 'opencrate:open';
  export const insertSnippet = 'opencrate:insert-snippet';
  export const copyPath = 'opencrate:copy-path';
  export const openLog = 'opencrate:open-log';
  export const openRunNotebook = 'opencrate:open-run-notebook';
  export const refresh = 'opencrate:refresh';
  export const show = 'opencrate:show-snapshots';
  export const compare = 'opencrate:compare-versions';
}

/** The settings as the registry composes them: the user's values over the schema's defaults (the one source). */
function readSettings(settings: ISettingRegistry.ISettings): IPanelSettings {
  const composite = settings.composite as unknown as IPanelSettings;
  return {
    pollSeconds: composite.pollSeconds,
    previewTextBytes: composite.previewTextBytes,
    previewTableRows: composite.previewTableRows,
    logTailLines: composite.logTailLines,
    mediaAutoLoadBytes: composite.mediaAutoLoadBytes
  };
}

/** Put `code` in a new code cell below the active cell of `notebook`, and select it. */
function insertBelow(notebook: NotebookPanel, code: string): void {
  const content = notebook.content;
  const index = content.activeCellIndex + 1;
  content.model?.sharedModel.insertCell(index, {
    cell_type: 'code',
    source: code,
    metadata: {}
  });
  content.activeCellIndex = index;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Browse, preview and load opencrate-nb snapshots from a sidebar.',
  autoStart: true,
  requires: [ISettingRegistry],
  optional: [ILayoutRestorer, INotebookTracker, ICommandPalette, ITranslator],
  activate: async (
    app: JupyterFrontEnd,
    registry: ISettingRegistry,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const { commands, shell } = app;
    const trans = (translator ?? nullTranslator).load('opencrate_nb');
    const settings = await registry.load(PLUGIN_ID);
    const initial = readSettings(settings);

    const model = new SnapshotModel({
      fetchTree,
      trans,
      pollSeconds: initial.pollSeconds
    });
    const openFile = (row: IRow) =>
      commands.execute('docmanager:open', {
        path: serverPath(treeOf(model.tree, row.root), row.path)
      });
    const panel = new SnapshotPanel({
      model,
      settings: initial,
      trans,
      open: openFile
    });
    panel.title.icon = crateIcon;
    panel.title.caption = trans.__('OpenCrate snapshots');
    shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, PANEL_ID);
    settings.changed.connect(() => {
      panel.settings = readSettings(settings);
    });

    /** The row under the context menu, or the selected row. */
    const targetRow = (): IRow | null => {
      const hit = app.contextMenuHitTest(node =>
        node.classList.contains('opencrate-node')
      );
      return panel.rowOf(hit ?? null) ?? panel.selected;
    };
    const isFile = () => {
      const row = targetRow();
      return !!row && !row.expandable;
    };

    commands.addCommand(CommandIDs.show, {
      label: trans.__('OpenCrate Snapshots'),
      caption: trans.__('Show the OpenCrate snapshots sidebar'),
      icon: crateIcon,
      execute: () => shell.activateById(PANEL_ID)
    });
    palette?.addItem({
      command: CommandIDs.show,
      category: trans.__('OpenCrate')
    });

    commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh Snapshots'),
      execute: () => panel.refresh(true)
    });
    palette?.addItem({
      command: CommandIDs.refresh,
      category: trans.__('OpenCrate')
    });

    commands.addCommand(CommandIDs.open, {
      label: trans.__('Open in a Tab'),
      isEnabled: isFile,
      execute: () => {
        const row = targetRow();
        return row && !row.expandable ? openFile(row) : undefined;
      }
    });

    commands.addCommand(CommandIDs.insertSnippet, {
      label: trans.__('Insert Load Snippet into Notebook'),
      isEnabled: () => {
        const row = targetRow();
        return (
          !!row &&
          (row.type === 'artifact' ||
            row.type === 'backup' ||
            row.type === 'log')
        );
      },
      execute: async () => {
        const row = targetRow();
        // the notebook tracker's current notebook: the one focused last, even while the sidebar has focus
        const notebook = notebooks?.currentWidget ?? null;
        if (!row) {
          return;
        }
        if (!notebook || !notebook.content.model) {
          Notification.warning(
            trans.__(
              'Open a notebook first: the load snippet goes into the active notebook.'
            )
          );
          return;
        }
        const { code } = await requestAPI<{ code: string }>('snippet', {
          path: row.path,
          cwd: PathExt.dirname(notebook.context.path),
          ...(row.root ? { root: row.root } : {})
        });
        insertBelow(notebook, code);
        shell.activateById(notebook.id);
      }
    });

    commands.addCommand(CommandIDs.copyPath, {
      label: trans.__('Copy Path'),
      isEnabled: () => !!targetRow(),
      execute: () => {
        const row = targetRow();
        if (row) {
          Clipboard.copyToSystem(
            serverPath(treeOf(model.tree, row.root), row.path)
          );
        }
      }
    });

    commands.addCommand(CommandIDs.openLog, {
      label: trans.__('Open Run Log'),
      isEnabled: () => {
        const row = targetRow();
        return (
          !!row &&
          !!row.versionPath &&
          !!versionLog(treeOf(model.tree, row.root), row.versionPath)
        );
      },
      execute: () => {
        const row = targetRow();
        const log = row
          ? versionLog(treeOf(model.tree, row.root), row.versionPath)
          : null;
        if (row && log) {
          void panel.previewLog(row.versionPath, row.root);
          return commands.execute('docmanager:open', {
            path: serverPath(treeOf(model.tree, row.root), log.path)
          });
        }
      }
    });

    commands.addCommand(CommandIDs.openRunNotebook, {
      label: trans.__('Open Run Notebook'),
      caption: trans.__(
        'Open run.ipynb: the cells of this version as they were executed, with their outputs'
      ),
      isVisible: () => targetRow()?.type === 'version',
      isEnabled: () => {
        const row = targetRow();
        return !!row && !!runNotebookOf(model.tree, row);
      },
      execute: async () => {
        const row = targetRow();
        if (!row || !runNotebookOf(model.tree, row)) {
          return;
        }
        try {
          // the server first brings run.ipynb up to date with the cells captured since it was built
          const { path } = await requestAPI<{ path: string }>(
            'notebook',
            { path: row.path, ...(row.root ? { root: row.root } : {}) },
            'POST'
          );
          return await commands.execute('docmanager:open', {
            path: serverPath(treeOf(model.tree, row.root), path),
            factory: 'Notebook'
          });
        } catch (error) {
          Notification.error(
            trans.__(
              'Could not open the run notebook: %1',
              (error as Error).message ?? String(error)
            )
          );
        }
      }
    });

    commands.addCommand(CommandIDs.compare, {
      label: trans.__('Compare Versions'),
      isVisible: () => targetRow()?.type === 'snapshot',
      execute: () => {
        const row = targetRow();
        if (row?.type === 'snapshot') {
          openComparePanel(
            shell,
            row.name,
            trans,
            readSettings(settings).pollSeconds
          );
        }
      }
    });

    const selector = '.opencrate-panel .opencrate-node';
    app.contextMenu.addItem({ command: CommandIDs.compare, selector, rank: 0 });
    app.contextMenu.addItem({
      command: CommandIDs.insertSnippet,
      selector,
      rank: 1
    });
    app.contextMenu.addItem({ command: CommandIDs.open, selector, rank: 2 });
    app.contextMenu.addItem({
      command: CommandIDs.copyPath,
      selector,
      rank: 3
    });
    app.contextMenu.addItem({ command: CommandIDs.openLog, selector, rank: 4 });
    app.contextMenu.addItem({
      command: CommandIDs.openRunNotebook,
      selector,
      rank: 5
    });
    app.contextMenu.addItem({
      command: CommandIDs.refresh,
      selector: '.opencrate-panel',
      rank: 10
    });
  }
};

export default plugin;
