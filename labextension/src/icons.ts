/** One icon per artifact kind, from JupyterLab's own set so that themes restyle them. */
import {
  LabIcon,
  audioIcon,
  fileIcon,
  folderIcon,
  historyIcon,
  imageIcon,
  jsonIcon,
  listIcon,
  paletteIcon,
  saveIcon,
  spreadsheetIcon,
  textEditorIcon,
  videoIcon,
  yamlIcon
} from '@jupyterlab/ui-components';

import { IRow } from './tree';

const CRATE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 7l9-4 9 4v10l-9 4-9-4V7zm2 1.3v7.4l6 2.7v-7.4L5 8.3zm14 0l-6 2.7v7.4l6-2.7V8.3zM12 5.2L6.6 7.6 12 10l5.4-2.4L12 5.2z"/>
  </g>
</svg>`;

const CHECKPOINT_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <circle cx="5" cy="6" r="2.2"/><circle cx="5" cy="18" r="2.2"/><circle cx="12" cy="12" r="2.2"/>
    <circle cx="19" cy="6" r="2.2"/><circle cx="19" cy="18" r="2.2"/>
    <path d="M6.6 7.2l4 3.6-.9 1-4-3.6zM6.6 16.8l4-3.6.9 1-4 3.6zM13.4 10.8l4-3.6.9 1-4 3.6zM13.4 13.2l.9-1 4 3.6-.9 1z"/>
  </g>
</svg>`;

export const crateIcon = new LabIcon({
  name: 'opencrate-nb:crate',
  svgstr: CRATE_SVG
});

const checkpointIcon = new LabIcon({
  name: 'opencrate-nb:checkpoint',
  svgstr: CHECKPOINT_SVG
});

const BY_KIND: Record<string, LabIcon> = {
  text: textEditorIcon,
  json: jsonIcon,
  yaml: yamlIcon,
  csv: spreadsheetIcon,
  image: imageIcon,
  gif: paletteIcon,
  video: videoIcon,
  audio: audioIcon,
  checkpoint: checkpointIcon,
  log: listIcon
};

export function iconFor(row: IRow): LabIcon {
  switch (row.type) {
    case 'folder':
      return folderIcon;
    case 'snapshot':
      return crateIcon;
    case 'version':
      return historyIcon;
    case 'kind':
      return folderIcon;
    case 'backup':
      return saveIcon;
    default:
      return BY_KIND[row.kind] ?? fileIcon;
  }
}
