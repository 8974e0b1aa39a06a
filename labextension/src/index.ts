/**
 * opencrate-nb's JupyterLab extension: the "OpenCrate snapshots" sidebar, its commands
 * (open, insert a load snippet, copy path, open log) and its context menu.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Widget } from '@lumino/widgets';

import { crateIcon } from './icons';
import { IRow, serverPath, versionLog } from './model';
import {
  DEFAULT_SETTINGS,
  IPanelSettings,
  PANEL_ID,
  SnapshotPanel
} from './panel';
import { requestAPI } from './request';

const PLUGIN_ID = 'opencrate-nb-labextension:plugin';

namespace CommandIDs {
  export const open = 'opencrate:open';
  export const insertSnippet = 'opencrate:insert-snippet';
  export const copyPath = 'opencrate:copy-path';
  export const openLog = 'opencrate:open-log';
  export const refresh = 'opencrate:refresh';
  export const show = 'opencrate:show-snapshots';
}

/**
 * The parts of a notebook panel used here. Typed structurally so that the extension
 * builds against @jupyterlab/application alone; the shared notebook model's
 * `insertCell` is the same call the notebook's own actions make.
 */
interface INotebookPanelLike extends Widget {
  context: { path: string };
  content: {
    activeCellIndex: number;
    model: {
      sharedModel: {
        insertCell(
          index: number,
          cell: { cell_type: 'code'; source: string; metadata: object }
        ): unknown;
      };
    } | null;
  };
}

function asNotebook(widget: Widget | null): INotebookPanelLike | null {
  if (!widget || !widget.hasClass('jp-NotebookPanel')) {
    return null;
  }
  const candidate = widget as INotebookPanelLike;
  return candidate.context && candidate.content?.model ? candidate : null;
}

function readSettings(settings: ISettingRegistry.ISettings): IPanelSettings {
  const get = (key: keyof IPanelSettings) =>
    (settings.composite[key] as number | undefined) ?? DEFAULT_SETTINGS[key];
  return {
    pollSeconds: get('pollSeconds'),
    previewTextBytes: get('previewTextBytes'),
    previewTableRows: get('previewTableRows'),
    logTailLines: get('logTailLines'),
    mediaAutoLoadBytes: get('mediaAutoLoadBytes')
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, preview and load opencrate-nb snapshots from a sidebar.',
  autoStart: true,
  optional: [ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    registry: ISettingRegistry | null
  ) => {
    const { commands, shell } = app;
    let lastNotebook: INotebookPanelLike | null = null;

    const openFile = (row: IRow) =>
      commands.execute('docmanager:open', { path: serverPath(panel.tree, row.path) });
    const panel = new SnapshotPanel({ open: openFile });
    panel.title.icon = crateIcon;
    panel.title.caption = 'OpenCrate snapshots';
    shell.add(panel, 'left', { rank: 600 });
    restorer?.add(panel, PANEL_ID);

    // the notebook a snippet goes to: the current one, or the last one that was
    shell.currentChanged?.connect((_, change) => {
      const notebook = asNotebook(change.newValue);
      if (notebook) {
        lastNotebook = notebook;
      }
    });
    const targetNotebook = () => {
      const current = asNotebook(shell.currentWidget);
      if (current) {
        return current;
      }
      return lastNotebook && !lastNotebook.isDisposed ? lastNotebook : null;
    };

    /** The row under the context menu, or the selected row. */
    const targetRow = (): IRow | null => {
      const hit = app.contextMenuHitTest(node => node.classList.contains('opencrate-node'));
      return panel.rowOf(hit ?? null) ?? panel.selected;
    };
    const isFile = () => {
      const row = targetRow();
      return !!row && !row.expandable;
    };

    commands.addCommand(CommandIDs.show, {
      label: 'OpenCrate Snapshots',
      execute: () => shell.activateById(PANEL_ID)
    });

    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Snapshots',
      execute: () => panel.refresh(true)
    });

    commands.addCommand(CommandIDs.open, {
      label: 'Open in a Tab',
      isEnabled: isFile,
      execute: () => {
        const row = targetRow();
        return row && !row.expandable ? openFile(row) : undefined;
      }
    });

    commands.addCommand(CommandIDs.insertSnippet, {
      label: 'Insert Load Snippet into Notebook',
      isEnabled: () => {
        const row = targetRow();
        return !!row && (row.type === 'artifact' || row.type === 'backup' || row.type === 'log');
      },
      execute: async () => {
        const row = targetRow();
        const notebook = targetNotebook();
        if (!row) {
          return;
        }
        if (!notebook || !notebook.content.model) {
          Notification.warning('Open a notebook first: the load snippet goes into the active notebook.');
          return;
        }
        const { code } = await requestAPI<{ code: string }>('snippet', {
          path: row.path,
          cwd: PathExt.dirname(notebook.context.path)
        });
        const index = notebook.content.activeCellIndex + 1;
        notebook.content.model.sharedModel.insertCell(index, {
          cell_type: 'code',
          source: code,
          metadata: {}
        });
        notebook.content.activeCellIndex = index;
        shell.activateById(notebook.id);
      }
    });

    commands.addCommand(CommandIDs.copyPath, {
      label: 'Copy Path',
      isEnabled: () => !!targetRow(),
      execute: () => {
        const row = targetRow();
        if (row) {
          Clipboard.copyToSystem(serverPath(panel.tree, row.path));
        }
      }
    });

    commands.addCommand(CommandIDs.openLog, {
      label: 'Open Run Log',
      isEnabled: () => {
        const row = targetRow();
        return !!row && !!row.versionPath && !!versionLog(panel.tree, row.versionPath);
      },
      execute: () => {
        const row = targetRow();
        const log = row ? versionLog(panel.tree, row.versionPath) : null;
        if (log) {
          void panel.previewLog(row!.versionPath);
          return commands.execute('docmanager:open', { path: serverPath(panel.tree, log.path) });
        }
      }
    });

    const selector = '.opencrate-panel .opencrate-node';
    app.contextMenu.addItem({ command: CommandIDs.insertSnippet, selector, rank: 1 });
    app.contextMenu.addItem({ command: CommandIDs.open, selector, rank: 2 });
    app.contextMenu.addItem({ command: CommandIDs.copyPath, selector, rank: 3 });
    app.contextMenu.addItem({ command: CommandIDs.openLog, selector, rank: 4 });
    app.contextMenu.addItem({ command: CommandIDs.refresh, selector: '.opencrate-panel', rank: 10 });

    if (registry) {
      void registry.load(PLUGIN_ID).then(
        settings => {
          panel.settings = readSettings(settings);
          settings.changed.connect(() => {
            panel.settings = readSettings(settings);
          });
        },
        reason => console.warn('opencrate-nb: settings not loaded, using defaults', reason)
      );
    }
  }
};

export default plugin;
