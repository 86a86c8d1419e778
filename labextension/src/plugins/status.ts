/**
 * `jupyter-astro-ops:status`: the status bar item with your active staging jobs and, for a
 * decider, the requests waiting for you; click (or "Show my staging jobs") for the panel.
 *
 * State: one REST snapshot after `GET me` (`staging/jobs?status=queued,running`,
 * `requests`), then the live feed only: job events update the job book; a request event
 * re-reads `GET requests` (debounced) because the feed alone cannot say which pending
 * requests you may decide.
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IStatusBar, showPopup } from '@jupyterlab/statusbar';
import { Signal } from '@lumino/signaling';

import { astroOpsIcon } from '../icons';
import { STAGING_JOB } from '../models/jobs';
import { CommandIDs, IAstroOps, PLUGIN_PREFIX } from '../tokens';
import type { IEvent } from '../types';
import { StatusItem, StatusModel, StatusPanel } from '../widgets/status';
import { CATEGORY } from './dashboards';

const DEBOUNCE_MS = 300;

function isRequest(event: IEvent): boolean {
  return event.object.type === 'PROJECT' && event.action === 'REQ';
}

export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:status`,
  description:
    'Your staging jobs and the requests waiting for you, live, in the status bar.',
  autoStart: true,
  requires: [IAstroOps],
  optional: [IStatusBar, ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    astro: IAstroOps,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ): void => {
    let model: StatusModel | null = null;
    let item: StatusItem | null = null;
    const actions = {
      cancel: async (job: { id: string }) => {
        await astro.client.cancelJob(job.id);
      },
      openRequests: () =>
        void app.commands.execute(CommandIDs.openDashboard, {
          name: 'activity'
        })
    };

    app.commands.addCommand(CommandIDs.showJobs, {
      label: 'Show my staging jobs',
      caption:
        'Your queued and running staging jobs, and the requests waiting for you',
      icon: astroOpsIcon,
      execute: async () => {
        if (!model) {
          return;
        }
        model.error = '';
        const panel = new StatusPanel(model, actions);
        if (item && item.isAttached && item.isVisible) {
          showPopup({
            body: panel,
            anchor: item,
            align: 'left',
            hasDynamicSize: true
          });
        } else {
          await showDialog({
            title: 'Astro Ops',
            body: panel,
            buttons: [Dialog.okButton({ label: 'Close' })]
          });
        }
      }
    });
    palette?.addItem({ command: CommandIDs.showJobs, category: CATEGORY });

    const start = async () => {
      const me = await astro.me;
      const status = new StatusModel(me.username);
      status.decider = me.decider;
      model = status;

      let timer: ReturnType<typeof setTimeout> | null = null;
      const refreshRequests = () => {
        if (timer !== null) {
          clearTimeout(timer);
        }
        timer = setTimeout(async () => {
          timer = null;
          try {
            const fresh = await astro.refreshMe();
            status.decider = fresh.decider;
            status.requests = fresh.decider
              ? await astro.client.requests()
              : [];
            status.emitChanged();
          } catch (err) {
            console.warn('astro-ops: could not read requests', err);
          }
        }, DEBOUNCE_MS);
      };

      astro.feed.onEvent(event => {
        if (event.object.type === STAGING_JOB) {
          const change = status.jobs.applyEvent(event);
          if (change && change.job.state === 'succeeded' && browser) {
            void browser.model.refresh(); // show the staged files at once
          }
          if (change) {
            status.jobs.prune();
            status.emitChanged();
          }
        } else if (event.object.type === 'PROJECT') {
          // a request (pending or decided), or a membership change that may make you a PI
          if (
            isRequest(event) ||
            status.decider ||
            event.user !== me.username
          ) {
            refreshRequests();
          }
        }
      });

      const [jobs, requests] = await Promise.all([
        astro.client.jobs(['queued', 'running']),
        me.decider ? astro.client.requests() : Promise.resolve([])
      ]);
      status.jobs.loadSnapshot(jobs);
      status.requests = requests;
      status.emitChanged();

      if (statusBar) {
        item = new StatusItem(status);
        item.node.addEventListener(
          'click',
          () => void app.commands.execute(CommandIDs.showJobs)
        );
        item.node.addEventListener('keydown', ev => {
          if (ev.key === 'Enter' || ev.key === ' ') {
            void app.commands.execute(CommandIDs.showJobs);
          }
        });
        const activeChanged = new Signal<unknown, void>(item);
        astro.settingsChanged.connect(() => activeChanged.emit());
        statusBar.registerStatusItem(`${PLUGIN_PREFIX}:status`, {
          item,
          align: 'left',
          rank: 50,
          isActive: () => astro.settings.statusBar,
          activeStateChanged: activeChanged
        });
      }
    };
    start().catch(reason => console.warn('astro-ops: no live status', reason));
  }
};
