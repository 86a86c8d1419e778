/**
 * `jupyter-astro-ops:dashboards`: a launcher section "Astro Ops" with one tile per dashboard
 * the server lists (`GET dashboards`), each opening the Panel page in a main-area tab that
 * the layout restorer brings back after a reload; the same in the command palette.
 */

import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IFrame,
  MainAreaWidget,
  ToolbarButton,
  WidgetTracker
} from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { launchIcon, refreshIcon } from '@jupyterlab/ui-components';

import { dashboardIcon } from '../icons';
import { CommandIDs, IAstroOps, PLUGIN_PREFIX } from '../tokens';
import type { IDashboard } from '../types';

export const CATEGORY = 'Astro Ops';

/** Panel needs scripts, its websocket (same origin), forms and downloads. */
const SANDBOX: IFrame.SandboxExceptions[] = [
  'allow-same-origin',
  'allow-scripts',
  'allow-forms',
  'allow-downloads',
  'allow-popups',
  'allow-modals'
];

interface IOpenArgs {
  name: string;
  title?: string;
  url?: string;
}

function dashboardWidget(name: string, title: string, url: string) {
  const content = new IFrame({
    sandbox: SANDBOX,
    referrerPolicy: 'same-origin'
  });
  content.url = url;
  content.addClass('jp-AstroOps-dashboard');
  const widget = new MainAreaWidget({ content });
  widget.id = `astro-ops-dashboard-${name}`;
  widget.title.label = title;
  widget.title.caption = `Astro Ops: ${title}`;
  widget.title.icon = dashboardIcon(name);
  widget.title.closable = true;
  widget.toolbar.addItem(
    'reload',
    new ToolbarButton({
      icon: refreshIcon,
      tooltip: 'Reload the dashboard',
      onClick: () => {
        content.url = '';
        requestAnimationFrame(() => (content.url = url));
      }
    })
  );
  widget.toolbar.addItem(
    'open-tab',
    new ToolbarButton({
      icon: launchIcon,
      tooltip: 'Open in a new browser tab',
      onClick: () => window.open(url, '_blank', 'noopener')
    })
  );
  return widget;
}

export const dashboardsPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:dashboards`,
  description: 'Astro Ops dashboards in JupyterLab tabs, from the launcher.',
  autoStart: true,
  requires: [IAstroOps],
  optional: [ILauncher, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    astro: IAstroOps,
    launcher: ILauncher | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const { commands, shell } = app;
    const known = new Map<string, IDashboard>();
    const tracker = new WidgetTracker<MainAreaWidget<IFrame>>({
      namespace: 'astro-ops-dashboards'
    });
    const fallbackUrl = (name: string) =>
      URLExt.join(
        astro.client.serverSettings.baseUrl,
        'astro-ops/dash',
        encodeURIComponent(name)
      );

    commands.addCommand(CommandIDs.openDashboard, {
      label: args => {
        const name = String(args.name ?? '');
        const title = String(
          args.title ?? known.get(name)?.title ?? (name || 'Dashboard')
        );
        // the palette lists commands out of context: say what the entry does
        return args.inPalette ? `Open the ${title} dashboard` : title;
      },
      caption: args => {
        const name = String(args.name ?? '');
        return String(
          known.get(name)?.description ?? 'Open an Astro Ops dashboard'
        );
      },
      icon: args => dashboardIcon(String(args.name ?? '')),
      describedBy: {
        args: {
          type: 'object',
          properties: {
            name: {
              type: 'string',
              description: 'Dashboard name, e.g. "activity"'
            }
          },
          required: ['name']
        }
      },
      execute: args => {
        const { name, title, url } = args as unknown as IOpenArgs;
        const entry = known.get(name);
        let widget = tracker.find(w => w.id === `astro-ops-dashboard-${name}`);
        if (!widget) {
          widget = dashboardWidget(
            name,
            title ?? entry?.title ?? name,
            url ?? entry?.url ?? fallbackUrl(name)
          );
          void tracker.add(widget);
          shell.add(widget, 'main');
        }
        shell.activateById(widget.id);
        return widget;
      }
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openDashboard,
        args: widget => ({
          name: widget.id.replace(/^astro-ops-dashboard-/, ''),
          title: widget.title.label
        }),
        name: widget => widget.id
      });
    }

    astro.client
      .dashboards()
      .then(list => {
        list.forEach((dashboard, rank) => {
          known.set(dashboard.name, dashboard);
          const args = {
            name: dashboard.name,
            title: dashboard.title,
            url: dashboard.url
          };
          launcher?.add({
            command: CommandIDs.openDashboard,
            args,
            category: CATEGORY,
            rank
          });
          palette?.addItem({
            command: CommandIDs.openDashboard,
            args: { ...args, inPalette: true },
            category: CATEGORY
          });
        });
      })
      .catch(reason => console.warn('astro-ops: no dashboard list', reason));
  }
};
