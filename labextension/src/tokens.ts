/**
 * What the extension's plugins share: command ids and the `IAstroOps` service (REST client,
 * who you are, the one live feed, settings).
 */

import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

import type { AstroOpsClient } from './api';
import type { LiveFeed } from './models/livefeed';
import type { IMe } from './types';

export const PLUGIN_PREFIX = 'jupyter-astro-ops';

export namespace CommandIDs {
  export const openDashboard = 'astro-ops:open-dashboard';
  export const stageHere = 'astro-ops:stage-here';
  export const showJobs = 'astro-ops:show-jobs';
}

/** The settings of `schema/plugin.json`, with their defaults filled in. */
export interface IAstroOpsSettings {
  statusBar: boolean;
  notifications: { [kind: string]: boolean };
}

export interface IAstroOps {
  readonly client: AstroOpsClient;
  /** `GET me`, read once at start (its `feed_seq` is where the feed starts). */
  readonly me: Promise<IMe>;
  /** Re-read `GET me` (roles may change: someone made you a PI). */
  refreshMe(): Promise<IMe>;
  /** The one live feed of this page, started once the layout is restored. */
  readonly feed: LiveFeed;
  readonly settings: IAstroOpsSettings;
  readonly settingsChanged: ISignal<IAstroOps, IAstroOpsSettings>;
  /** The editable settings (null when the registry is unavailable). */
  readonly registry: ISettingRegistry.ISettings | null;
}

export const IAstroOps = new Token<IAstroOps>(
  `${PLUGIN_PREFIX}:IAstroOps`,
  'The astro-ops REST client, live feed and settings.'
);
