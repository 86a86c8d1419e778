/**
 * The body of the "Stage data here..." dialog: pick a storage root, browse it, select files
 * or one directory, a method and a name; the plugin then starts the job(s).
 *
 * Everything comes from the server (`GET staging/roots`, `roots/<root>/ls`, `methods`), and
 * every refusal is shown as the server's own message, inline.
 */

import type { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import type { AstroOpsClient } from '../api';
import { formatBytes } from '../models/jobs';
import { basename, crumbs, joinPath, nameProblem } from '../models/paths';
import type { ILsEntry, IRoot } from '../types';

/** What the user chose (the dialog's value). */
export interface IStageChoice {
  root: string;
  /** One directory, or one or more files. */
  items: ILsEntry[];
  method: string;
  /** The staged name of a single item (ignored for several files: they keep theirs). */
  name: string;
}

/** Where to reopen the dialog (after a refusal, with the server's message). */
export interface IStageState {
  root?: string;
  path?: string;
  items?: ILsEntry[];
  method?: string;
  name?: string;
  error?: string;
}

/** Why `choice` cannot be staged yet, or `null`. */
export function choiceProblem(choice: IStageChoice | null): string | null {
  if (!choice || !choice.items.length) {
    return 'Pick files or a directory to stage.';
  }
  if (!choice.method) {
    return 'No staging method is allowed on this root.';
  }
  return choice.items.length === 1 ? nameProblem(choice.name) : null;
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { [key: string]: string } = {},
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

export class StageDialogBody
  extends Widget
  implements Dialog.IBodyWidget<IStageChoice | null>
{
  constructor(
    private readonly _client: AstroOpsClient,
    private readonly _folder: string,
    state: IStageState = {}
  ) {
    super();
    this.addClass('jp-AstroOps-stage');
    this._state = state;
    this._rootSelect = element('select', { 'aria-label': 'Storage root' });
    this._methodSelect = element('select', { 'aria-label': 'Method' });
    this._nameInput = element('input', { type: 'text', 'aria-label': 'Name' });
    this._crumbs = element('div', { class: 'jp-AstroOps-stage-crumbs' });
    this._list = element('ul', {
      class: 'jp-AstroOps-stage-list',
      'aria-label': 'Entries'
    });
    this._hint = element('div', { class: 'jp-AstroOps-stage-hint' });
    this._error = element('div', {
      class: 'jp-AstroOps-stage-error',
      role: 'alert'
    });
    this._build();
    this._rootSelect.addEventListener('change', () => {
      this._selected.clear();
      this._fillMethods();
      void this._browse('');
    });
    this._nameInput.addEventListener('input', () => (this._nameEdited = true));
    void this._load();
  }

  /** Resolves once roots and the first listing are shown (for tests and focus). */
  get ready(): Promise<void> {
    return this._ready;
  }

  getValue(): IStageChoice | null {
    const items = [...this._selected.values()];
    if (!this._rootSelect.value) {
      return null;
    }
    return {
      root: this._rootSelect.value,
      items,
      method: this._methodSelect.value,
      name: this._nameInput.value.trim()
    };
  }

  /** Where the browser is, to reopen the dialog in the same place. */
  get state(): IStageState {
    const value = this.getValue();
    return {
      root: value?.root,
      path: this._path,
      items: value?.items,
      method: value?.method,
      name: value?.name
    };
  }

  private _build(): void {
    const into = element('div', { class: 'jp-AstroOps-stage-row' });
    into.append(
      element('label', {}, 'Into'),
      element(
        'code',
        { class: 'jp-AstroOps-stage-folder' },
        `${this._folder || '.'}/`
      ),
      this._nameInput
    );
    const from = element('div', { class: 'jp-AstroOps-stage-row' });
    from.append(element('label', {}, 'From'), this._rootSelect);
    const method = element('div', { class: 'jp-AstroOps-stage-row' });
    method.append(element('label', {}, 'Method'), this._methodSelect);
    this.node.append(
      from,
      this._crumbs,
      this._list,
      this._hint,
      method,
      into,
      this._error
    );
    if (this._state.error) {
      this._showError(this._state.error);
    }
  }

  private async _load(): Promise<void> {
    let done: () => void = () => undefined;
    this._ready = new Promise(resolve => (done = resolve));
    try {
      const [roots, methods] = await Promise.all([
        this._client.roots(),
        this._client.methods()
      ]);
      this._roots = roots;
      this._allowed = methods.methods;
      if (!roots.length) {
        this._showError('No storage root is open to you.');
        return;
      }
      for (const root of roots) {
        const option = element('option', { value: root.name }, root.name);
        if (root.description) {
          option.title = root.description;
        }
        this._rootSelect.append(option);
      }
      const wanted = roots.find(r => r.name === this._state.root) ?? roots[0];
      this._rootSelect.value = wanted.name;
      this._fillMethods();
      if (this._state.method) {
        this._methodSelect.value = this._state.method;
      }
      for (const item of this._state.items ?? []) {
        this._selected.set(item.path, item);
      }
      if (this._state.name) {
        this._nameInput.value = this._state.name;
        this._nameEdited = true;
      }
      await this._browse(this._state.path ?? '', true);
    } catch (err) {
      this._showError((err as Error).message);
    } finally {
      done();
    }
  }

  private _fillMethods(): void {
    const root = this._roots.find(r => r.name === this._rootSelect.value);
    const methods = (root?.methods ?? []).filter(m =>
      this._allowed.includes(m)
    );
    this._methodSelect.replaceChildren(
      ...methods.map(m => element('option', { value: m }, m))
    );
    if (methods.includes('copy')) {
      this._methodSelect.value = 'copy';
    }
  }

  private async _browse(path: string, keepSelection = false): Promise<void> {
    const root = this._rootSelect.value;
    if (!keepSelection) {
      this._selected.clear();
    }
    try {
      const listing = await this._client.ls(root, path);
      this._path = listing.path ?? path;
      this._entries = listing.entries;
      if (!keepSelection) {
        this._clearError();
      }
    } catch (err) {
      this._showError((err as Error).message);
      return;
    }
    this._render();
  }

  private _render(): void {
    const trail = crumbs(this._rootSelect.value, this._path);
    this._crumbs.replaceChildren();
    trail.forEach(([path, label], i) => {
      if (i) {
        this._crumbs.append(document.createTextNode(' / '));
      }
      const link = element(
        'button',
        { class: 'jp-AstroOps-link', type: 'button' },
        label
      );
      link.addEventListener('click', () => void this._browse(path));
      this._crumbs.append(link);
    });
    this._list.replaceChildren();
    if (this._path) {
      const here: ILsEntry = {
        name: basename(this._path),
        path: this._path,
        type: 'directory',
        size: null
      };
      this._list.append(this._row(here, 'this whole directory'));
    }
    for (const entry of this._entries) {
      if (entry.type !== 'other') {
        this._list.append(this._row(entry));
      }
    }
    if (!this._entries.length) {
      this._list.append(
        element('li', { class: 'jp-AstroOps-stage-empty' }, '(empty)')
      );
    }
    this._update();
  }

  private _row(entry: ILsEntry, label?: string): HTMLLIElement {
    const row = element('li');
    const box = element('input', {
      type: 'checkbox',
      'aria-label': `Select ${label ?? entry.name}`
    });
    box.checked = this._selected.has(entry.path);
    box.addEventListener('change', () => this._toggle(entry, box.checked));
    row.append(box);
    if (entry.type === 'directory' && !label) {
      const open = element(
        'button',
        { class: 'jp-AstroOps-link', type: 'button' },
        `${entry.name}/`
      );
      open.title = `Open ${entry.name}`;
      open.addEventListener(
        'click',
        () => void this._browse(joinPath(this._path, entry.name))
      );
      row.append(open);
    } else {
      row.append(
        element(
          'span',
          { class: label ? 'jp-AstroOps-stage-here' : '' },
          label ?? entry.name
        )
      );
    }
    if (entry.type === 'file' && entry.size !== null) {
      row.append(
        element(
          'span',
          { class: 'jp-AstroOps-stage-size' },
          formatBytes(entry.size)
        )
      );
    }
    return row;
  }

  /** Files or one directory: picking a directory drops the rest, and the other way round. */
  private _toggle(entry: ILsEntry, on: boolean): void {
    if (!on) {
      this._selected.delete(entry.path);
    } else {
      if (entry.type === 'directory') {
        this._selected.clear();
      } else {
        for (const [path, item] of this._selected) {
          if (item.type === 'directory') {
            this._selected.delete(path);
          }
        }
      }
      this._selected.set(entry.path, entry);
    }
    this._render();
  }

  private _update(): void {
    const items = [...this._selected.values()];
    if (items.length === 1) {
      this._nameInput.disabled = false;
      if (!this._nameEdited) {
        this._nameInput.value = items[0].name || this._rootSelect.value;
      }
      this._hint.textContent =
        items[0].type === 'directory'
          ? `Stages the directory ${items[0].path || '(root)'} and everything in it.`
          : `Stages the file ${items[0].path}.`;
    } else if (items.length > 1) {
      this._nameInput.disabled = true;
      this._nameInput.value = '';
      this._hint.textContent = `Stages ${items.length} files; they keep their names.`;
    } else {
      this._nameInput.disabled = true;
      this._nameInput.value = '';
      this._hint.textContent = 'Pick files or a directory.';
    }
  }

  private _showError(message: string): void {
    this._error.textContent = message;
    this._error.hidden = false;
  }

  private _clearError(): void {
    this._error.textContent = '';
    this._error.hidden = true;
  }

  private _state: IStageState;
  private _ready: Promise<void> = Promise.resolve();
  private _roots: IRoot[] = [];
  private _allowed: string[] = [];
  private _path = '';
  private _entries: ILsEntry[] = [];
  private _selected = new Map<string, ILsEntry>();
  private _nameEdited = false;
  private _rootSelect: HTMLSelectElement;
  private _methodSelect: HTMLSelectElement;
  private _nameInput: HTMLInputElement;
  private _crumbs: HTMLDivElement;
  private _list: HTMLUListElement;
  private _hint: HTMLDivElement;
  private _error: HTMLDivElement;
}
