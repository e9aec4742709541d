// A modal as Slack shows one: title, the view's blocks and inputs (labelled, with hints and field errors),
// and its close and submit buttons.
import type { BlockJson, ViewJson } from '../protocol.ts';
import { div, renderBlocks, renderText, type BlockContext } from './blocks.ts';

export type Values = Record<string, Record<string, string | null>>;

export interface ModalHandlers extends BlockContext {
  onSubmit(values: Values): void;
  onClose(): void;
}

export interface RenderedModal {
  root: HTMLElement;
  showErrors(errors: Record<string, string>): void;
}

export function renderModal(id: string, view: ViewJson, handlers: ModalHandlers): RenderedModal {
  const overlay = div('modal-overlay');
  const dialog = document.createElement('form');
  dialog.className = 'modal';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-modal', 'true');
  dialog.setAttribute('aria-labelledby', `${id}-title`);
  const title = document.createElement('h2');
  title.id = `${id}-title`;
  title.append(renderText(view.title, handlers.names));
  dialog.append(title);

  const body = div('modal-body');
  const errors = new Map<string, HTMLElement>();
  const readers: (() => [string, string, string | null] | null)[] = [];
  for (const block of view.blocks ?? []) {
    if (block.type === 'input') {
      const input = renderInput(id, block);
      if (!input) continue;
      body.append(input.node);
      errors.set(block.block_id ?? '', input.error);
      readers.push(input.read);
    } else {
      body.append(renderBlocks([block], handlers));
    }
  }
  dialog.append(body);

  const footer = div('modal-footer');
  const close = document.createElement('button');
  close.type = 'button';
  close.textContent = view.close?.text ?? 'Cancel';
  close.addEventListener('click', () => handlers.onClose());
  footer.append(close);
  if (view.submit) {
    const submit = document.createElement('button');
    submit.type = 'submit';
    submit.className = 'bk-button primary';
    submit.textContent = view.submit.text;
    footer.append(submit);
  }
  dialog.append(footer);
  dialog.addEventListener('submit', (event) => {
    event.preventDefault();
    const values: Values = {};
    for (const read of readers) {
      const value = read();
      if (value) values[value[0]] = { ...values[value[0]], [value[1]]: value[2] };
    }
    handlers.onSubmit(values);
  });
  dialog.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') handlers.onClose();
  });
  overlay.append(dialog);
  return {
    root: overlay,
    showErrors(shown) {
      for (const [blockId, node] of errors) node.textContent = shown[blockId] ?? '';
    },
  };
}

function renderInput(modalId: string, block: BlockJson): { node: HTMLElement; error: HTMLElement; read: () => [string, string, string | null] } | null {
  const element = block.element;
  const blockId = block.block_id ?? '';
  const actionId = element?.action_id ?? '';
  if (!element) return null;
  const fieldId = `${modalId}-${blockId}`;
  const node = div('bk-input');
  const label = document.createElement('label');
  label.htmlFor = fieldId;
  label.textContent = block.label?.text ?? blockId;
  if (block.optional) {
    const optional = document.createElement('span');
    optional.className = 'optional';
    optional.textContent = ' (optional)';
    optional.setAttribute('aria-hidden', 'true');
    label.append(optional);
  }
  node.append(label);

  let control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;
  if (element.type === 'static_select') {
    const select = document.createElement('select');
    const none = document.createElement('option');
    none.value = '';
    none.textContent = element.placeholder?.text ?? 'Choose…';
    select.append(none);
    for (const option of element.options ?? []) {
      const node = document.createElement('option');
      node.value = option.value;
      node.textContent = option.text.text;
      select.append(node);
    }
    control = select;
  } else if (element.multiline) {
    control = document.createElement('textarea');
  } else {
    control = document.createElement('input');
    control.type = 'text';
  }
  if (!(control instanceof HTMLSelectElement)) {
    control.placeholder = element.placeholder?.text ?? '';
    control.value = element.initial_value ?? '';
  }
  control.id = fieldId;
  node.append(control);
  if (block.hint) {
    const hint = document.createElement('p');
    hint.className = 'hint';
    hint.id = `${fieldId}-hint`;
    hint.textContent = block.hint.text;
    node.append(hint);
  }
  const error = document.createElement('p');
  error.className = 'field-error';
  error.id = `${fieldId}-error`;
  error.setAttribute('role', 'alert');
  node.append(error);
  control.setAttribute('aria-describedby', [block.hint ? `${fieldId}-hint` : '', `${fieldId}-error`].filter(Boolean).join(' '));
  return { node, error, read: () => [blockId, actionId, control.value === '' ? null : control.value] };
}
