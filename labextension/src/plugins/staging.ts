/**
 * `jupyter-astro-ops:staging`: "Stage data here..." on a directory of the file browser (and
 * on its empty area, for the folder it shows), and in the command palette.
 *
 * The dialog lists the storage roots you may use, browses them, and starts one job per
 * choice with `POST staging/jobs` `{"source": {root, path}, "target": "<folder>/<name>",
 * "method"}`. A refusal (400/403/404/409) reopens the dialog where it was, with the
 * server's message.
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';

import { stagingIcon } from '../icons';
import { basename, joinPath, stagingTarget } from '../models/paths';
import { CommandIDs, IAstroOps, PLUGIN_PREFIX } from '../tokens';
import {
  choiceProblem,
  StageDialogBody,
  type IStageChoice,
  type IStageState
} from '../widgets/stagedialog';
import { CATEGORY } from './dashboards';

const ITEM = 'jp-DirListing-item';

export const stagingPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:staging`,
  description:
    'Stage data from a storage root into a folder of the file browser.',
  autoStart: true,
  requires: [IAstroOps, IDefaultFileBrowser],
  optional: [ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    astro: IAstroOps,
    browser: IDefaultFileBrowser,
    palette: ICommandPalette | null
  ): void => {
    const contents = app.serviceManager.contents;

    /** The listing item right-clicked, if the context menu was opened on one. */
    const clickedItem = (args: { origin?: unknown }) =>
      args.origin === 'context-menu'
        ? app.contextMenuHitTest(node => node.classList.contains(ITEM))
        : undefined;

    /** The folder to stage into: the directory clicked, else the one the browser shows. */
    const targetFolder = (args: { origin?: unknown }): string | null => {
      const item = clickedItem(args);
      let path = browser.model.path;
      if (item) {
        if (item.dataset.isdir !== 'true') {
          return null;
        }
        const name =
          item.querySelector('.jp-DirListing-itemText')?.textContent ?? '';
        const model =
          [...browser.selectedItems()].find(m => m.name === name) ??
          [...browser.model.items()].find(m => m.name === name);
        if (!model || model.type !== 'directory') {
          return null;
        }
        path = model.path;
      }
      if (contents.driveName(path)) {
        return null; // only the server's own drive: staging targets are on its disk
      }
      return contents.localPath(path);
    };

    app.commands.addCommand(CommandIDs.stageHere, {
      label: args =>
        args.origin === 'context-menu'
          ? 'Stage data here...'
          : 'Stage data into the current folder...',
      caption: 'Copy data from an observatory storage root into this folder',
      icon: stagingIcon,
      isVisible: args => targetFolder(args) !== null,
      execute: async args => {
        const folder = targetFolder(args);
        if (folder === null) {
          return;
        }
        await stageInto(astro, folder, async () => {
          if (
            browser.model.path === folder ||
            contents.localPath(browser.model.path) === folder
          ) {
            await browser.model.refresh();
          }
        });
      }
    });
    palette?.addItem({ command: CommandIDs.stageHere, category: CATEGORY });
  }
};

/** Show the dialog until the user cancels or the server accepts the job(s). */
export async function stageInto(
  astro: IAstroOps,
  folder: string,
  onQueued: () => Promise<void> = async () => undefined
): Promise<void> {
  let state: IStageState = {};
  for (;;) {
    const body = new StageDialogBody(astro.client, folder, state);
    const result = await showDialog<IStageChoice | null>({
      title: `Stage data into ${folder || 'the top folder'}`,
      body,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Stage' })],
      focusNodeSelector: 'select'
    });
    if (!result.button.accept) {
      return;
    }
    const choice = result.value;
    state = body.state;
    const problem = choiceProblem(choice);
    if (problem || !choice) {
      state.error = problem ?? 'Nothing to stage.';
      continue;
    }
    const queued: string[] = [];
    try {
      for (const item of choice.items) {
        const name =
          choice.items.length === 1 ? choice.name : basename(item.path);
        const job = await astro.client.createJob({
          source: { root: choice.root, path: item.path },
          target: stagingTarget(folder, name),
          method: choice.method
        });
        queued.push(job.target);
      }
    } catch (err) {
      const already = queued.length
        ? ` (already queued: ${queued.join(', ')})`
        : '';
      state.error = `${(err as Error).message}${already}`;
      continue;
    }
    Notification.info(
      queued.length === 1
        ? `Staging into ${queued[0]} queued`
        : `${queued.length} staging jobs into ${joinPath(folder) || '.'} queued`,
      { autoClose: 4000 }
    );
    await onQueued();
    return;
  }
}
