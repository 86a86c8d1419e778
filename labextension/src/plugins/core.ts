/**
 * `jupyter-astro-ops:plugin`: the REST client, who you are, the one live feed and the
 * settings, shared with the other plugins through the `IAstroOps` token.
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Signal, type ISignal } from '@lumino/signaling';

import { AstroOpsClient } from '../api';
import { LiveFeed, type ISocket } from '../models/livefeed';
import { STAGING_JOB } from '../models/jobs';
import { NOTICE_KINDS } from '../models/notices';
import { IAstroOps, PLUGIN_PREFIX, type IAstroOpsSettings } from '../tokens';
import type { IMe } from '../types';

/** Object types the feed carries: jobs, requests, and every notification kind's. */
export const FEED_OBJECT_TYPES = [
  ...new Set([STAGING_JOB, 'PROJECT', ...NOTICE_KINDS.map(k => k.objectType)])
];

const DEFAULTS: IAstroOpsSettings = {
  statusBar: true,
  notifications: Object.fromEntries(NOTICE_KINDS.map(k => [k.id, true]))
};

class AstroOps implements IAstroOps {
  constructor(app: JupyterFrontEnd) {
    this.client = new AstroOpsClient(app.serviceManager.serverSettings);
    const settings = this.client.serverSettings;
    this.feed = new LiveFeed({
      url: () => this.client.liveUrl(),
      connect: url => new settings.WebSocket(url) as unknown as ISocket,
      filters: { object_type: FEED_OBJECT_TYPES }
    });
    this.me = this.client.me();
  }

  readonly client: AstroOpsClient;
  readonly feed: LiveFeed;
  me: Promise<IMe>;
  settings: IAstroOpsSettings = DEFAULTS;
  registry: ISettingRegistry.ISettings | null = null;

  get settingsChanged(): ISignal<IAstroOps, IAstroOpsSettings> {
    return this._settingsChanged;
  }

  refreshMe(): Promise<IMe> {
    const fresh = this.client.me();
    // keep the first answer if this one fails (e.g. a network blip)
    fresh.then(
      () => (this.me = fresh),
      () => undefined
    );
    return fresh;
  }

  useSettings(registry: ISettingRegistry.ISettings): void {
    this.registry = registry;
    const read = () => {
      const composite =
        registry.composite as unknown as Partial<IAstroOpsSettings>;
      this.settings = {
        statusBar: composite.statusBar ?? DEFAULTS.statusBar,
        notifications: {
          ...DEFAULTS.notifications,
          ...(composite.notifications ?? {})
        }
      };
      this._settingsChanged.emit(this.settings);
    };
    read();
    registry.changed.connect(read);
  }

  private _settingsChanged: Signal<IAstroOps, IAstroOpsSettings> = new Signal<
    IAstroOps,
    IAstroOpsSettings
  >(this);
}

export const corePlugin: JupyterFrontEndPlugin<IAstroOps> = {
  id: `${PLUGIN_PREFIX}:plugin`,
  description: 'Astro Ops: REST client, live activity feed and settings.',
  autoStart: true,
  provides: IAstroOps,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    registry: ISettingRegistry | null
  ): IAstroOps => {
    const astro = new AstroOps(app);
    if (registry) {
      registry
        .load(corePlugin.id)
        .then(settings => astro.useSettings(settings))
        .catch(reason =>
          console.error('astro-ops: could not load settings', reason)
        );
    }
    // Start the feed once every plugin has subscribed, from the cursor `GET me` gave, so a
    // REST snapshot read after `me` plus the replay miss nothing in between.
    Promise.all([astro.me, app.restored])
      .then(([me]) => astro.feed.start(me.feed_seq))
      .catch(reason =>
        console.warn(
          'astro-ops: the server extension did not answer; live status is off',
          reason
        )
      );
    window.addEventListener('online', () => astro.feed.reconnect());
    return astro;
  }
};
