/**
 * `jupyter-astro-ops:kernel-identity`: on a server shared through TokenMapIdentityProvider,
 * give each Python kernel you use a kernel token of yours, so `AstroOps()` in the notebook
 * acts as you and not as the server's owner.
 *
 * When a notebook's (or console's) kernel is ready, and again after a restart or a kernel
 * change, ask `POST kernel-tokens` for that kernel and set `os.environ["ASTRO_OPS_TOKEN"]`
 * with a silent execute (not in the history, no output, no execution count). The server
 * revokes the token when the kernel shuts down. Nothing happens where `GET me` says the
 * server's own token is already yours (JupyterHub, a personal server), or after the server
 * answers 409.
 */

import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import type { ISessionContext } from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { INotebookTracker } from '@jupyterlab/notebook';
import type { Kernel } from '@jupyterlab/services';

import { AstroOpsError } from '../api';
import { IAstroOps, PLUGIN_PREFIX } from '../tokens';

/** Statuses after which the kernel process is new (its environment is gone). */
const FRESH_PROCESS: Kernel.Status[] = [
  'restarting',
  'autorestarting',
  'starting',
  'dead'
];

/** The code the kernel runs: only the token, JSON-quoted, which is a valid Python string. */
export function injectionCode(token: string): string {
  return (
    'import os as _astro_ops_os\n' +
    `_astro_ops_os.environ["ASTRO_OPS_TOKEN"] = ${JSON.stringify(token)}\n` +
    'del _astro_ops_os'
  );
}

export const kernelIdentityPlugin: JupyterFrontEndPlugin<void> = {
  id: `${PLUGIN_PREFIX}:kernel-identity`,
  description:
    'Hands your own astro-ops token to your Python kernels on a shared server.',
  autoStart: true,
  requires: [IAstroOps],
  optional: [INotebookTracker, IConsoleTracker],
  activate: (
    app: JupyterFrontEnd,
    astro: IAstroOps,
    notebooks: INotebookTracker | null,
    consoles: IConsoleTracker | null
  ): void => {
    let enabled = true;
    /** kernel connection -> whether its current process has our token */
    const done = new WeakMap<Kernel.IKernelConnection, boolean>();
    const busy = new WeakSet<Kernel.IKernelConnection>();

    const inject = async (kernel: Kernel.IKernelConnection) => {
      if (
        !enabled ||
        done.get(kernel) ||
        busy.has(kernel) ||
        kernel.isDisposed
      ) {
        return;
      }
      busy.add(kernel);
      try {
        const info = await kernel.info;
        if (info.language_info?.name !== 'python') {
          done.set(kernel, true); // nothing to do for other languages
          return;
        }
        const issued = await astro.client.kernelToken(kernel.id);
        await kernel.requestExecute({
          code: injectionCode(issued.token),
          silent: true,
          store_history: false,
          allow_stdin: false,
          stop_on_error: false
        }).done;
        done.set(kernel, true);
      } catch (err) {
        if (err instanceof AstroOpsError && err.status === 409) {
          enabled = false; // the server token is already the user's
        } else {
          console.warn('astro-ops: could not give the kernel your token', err);
        }
      } finally {
        busy.delete(kernel);
      }
    };

    const watch = (context: ISessionContext) => {
      const maybeInject = () => {
        const kernel = context.session?.kernel;
        if (kernel && kernel.status === 'idle') {
          void inject(kernel);
        }
      };
      context.kernelChanged.connect(maybeInject);
      context.statusChanged.connect((_, status) => {
        const kernel = context.session?.kernel;
        if (!kernel) {
          return;
        }
        if (FRESH_PROCESS.includes(status)) {
          done.set(kernel, false);
        } else if (status === 'idle') {
          void inject(kernel);
        }
      });
      void context.ready.then(maybeInject);
    };

    astro.me
      .then(me => {
        if (!me.kernel_tokens) {
          return; // JupyterHub or a personal server: the kernel's own token is yours
        }
        notebooks?.forEach(panel => watch(panel.sessionContext));
        notebooks?.widgetAdded.connect((_, panel) =>
          watch(panel.sessionContext)
        );
        consoles?.forEach(panel => watch(panel.sessionContext));
        consoles?.widgetAdded.connect((_, panel) =>
          watch(panel.sessionContext)
        );
      })
      .catch(reason =>
        console.warn('astro-ops: kernel identity is off', reason)
      );
  }
};
