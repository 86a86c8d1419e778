/**
 * `jupyter-astro-ops:notifications`: JupyterLab notifications for live events, as
 * `models/notices.ts` describes them (a job of yours finished or failed, a request you filed
 * was decided, a request waits for your decision, a sign-off awaits your group), each kind
 * switched on or off in the settings.
 *
 * Later changes of the same event update its notification instead of adding another (a
 * request that is approved, then carried out, is one notification).
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';

import { NoticeWatcher, type INotice } from '../models/notices';
import { CommandIDs, IAstroOps, PLUGIN_PREFIX } from '../tokens';

/** Errors stay until dismissed; the rest close by themselves but remain in the center. */
const AUTO_CLOSE_MS = 8000;

export const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:notifications`,
  description: 'Notifications for your staging jobs, requests and sign-offs.',
  autoStart: true,
  requires: [IAstroOps],
  activate: (app: JupyterFrontEnd, astro: IAstroOps): void => {
    const shown = new Map<string, string>(); // event id -> notification id

    const actionsFor = (notice: INotice): Notification.IAction[] => {
      const actions: Notification.IAction[] = [];
      if (notice.target !== null) {
        const path = notice.target;
        actions.push({
          label: 'Open folder',
          caption: `Show ${path} in the file browser`,
          callback: () =>
            void app.commands.execute('filebrowser:go-to-path', { path })
        });
      }
      if (notice.kind.id === 'request-waiting') {
        actions.push({
          label: 'Decide',
          caption: 'Open the Activity dashboard',
          callback: () =>
            void app.commands.execute(CommandIDs.openDashboard, {
              name: 'activity'
            })
        });
      }
      return actions;
    };

    const show = (notice: INotice) => {
      const options = {
        autoClose: notice.type === 'error' ? (false as const) : AUTO_CLOSE_MS,
        actions: actionsFor(notice)
      };
      const previous = shown.get(notice.event.id);
      if (
        previous !== undefined &&
        Notification.update({
          id: previous,
          message: notice.message,
          type: notice.type,
          ...options
        })
      ) {
        return;
      }
      shown.set(
        notice.event.id,
        Notification.emit(notice.message, notice.type, options)
      );
    };

    astro.me
      .then(me => {
        const watcher = new NoticeWatcher(
          { username: me.username, groups: me.groups },
          undefined,
          kind => astro.settings.notifications[kind] !== false
        );
        astro.feed.onEvent(event => watcher.observe(event).forEach(show));
      })
      .catch(reason => console.warn('astro-ops: no notifications', reason));
  }
};
