/**
 * The JupyterLab extension of jupyter_astro_ops: one plugin per feature around a shared core
 * (REST client, live feed, settings), so any of them can be disabled on its own.
 */

import type { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { corePlugin } from './plugins/core';
import { dashboardsPlugin } from './plugins/dashboards';
import { kernelIdentityPlugin } from './plugins/kernelidentity';
import { notificationsPlugin } from './plugins/notifications';
import { stagingPlugin } from './plugins/staging';
import { statusPlugin } from './plugins/status';

const plugins: JupyterFrontEndPlugin<any>[] = [
  corePlugin,
  dashboardsPlugin,
  stagingPlugin,
  statusPlugin,
  notificationsPlugin,
  kernelIdentityPlugin
];

export default plugins;
