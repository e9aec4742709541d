// Block Kit as Slack draws what Sesame sends: header, section (text, fields, a button beside), context,
// divider, actions, and the inputs of modals. Buttons are real <button>s named by their Block Kit text.
import type { BlockJson, ElementJson, TextObject } from '../protocol.ts';
import { renderMrkdwn, type Names } from './mrkdwn.ts';

export interface ButtonPress {
  actionId: string;
  blockId: string;
  value: string;
  text: string;
}

export interface BlockContext {
  names: Names;
  onButton(press: ButtonPress): void;
}

export function renderText(text: TextObject | undefined, names: Names): Node {
  if (!text) return document.createDocumentFragment();
  return text.type === 'mrkdwn' ? renderMrkdwn(text.text, names) : document.createTextNode(text.text);
}

export function renderBlocks(blocks: readonly BlockJson[], ctx: BlockContext): HTMLElement {
  const root = div('blocks');
  blocks.forEach((block, i) => {
    const node = renderBlock(block, ctx, block.block_id ?? `b${i}`);
    if (node) root.append(node);
  });
  return root;
}

function renderBlock(block: BlockJson, ctx: BlockContext, blockId: string): HTMLElement | null {
  switch (block.type) {
    case 'header': {
      const h = document.createElement('h3');
      h.className = 'bk-header';
      h.append(renderText(block.text, ctx.names));
      return h;
    }
    case 'section': {
      const section = div('bk-section');
      const body = div('bk-section-body');
      if (block.text) body.append(withClass(div('bk-text'), renderText(block.text, ctx.names)));
      if (block.fields?.length) {
        const fields = div('bk-fields');
        for (const field of block.fields) fields.append(withClass(div('bk-field'), renderText(field, ctx.names)));
        body.append(fields);
      }
      section.append(body);
      if (block.accessory) {
        const accessory = renderElement(block.accessory, ctx, blockId);
        if (accessory) section.append(withClass(div('bk-accessory'), accessory));
      }
      return section;
    }
    case 'context': {
      const context = div('bk-context');
      for (const element of block.elements ?? []) {
        if ('text' in element && typeof element.text === 'string') context.append(withClass(document.createElement('span'), renderText(element as TextObject, ctx.names)));
      }
      return context;
    }
    case 'divider':
      return document.createElement('hr');
    case 'actions': {
      const actions = div('bk-actions');
      for (const element of block.elements ?? []) {
        const node = renderElement(element as ElementJson, ctx, blockId);
        if (node) actions.append(node);
      }
      return actions;
    }
    default:
      return null;
  }
}

function renderElement(element: ElementJson, ctx: BlockContext, blockId: string): HTMLElement | null {
  if (element.type !== 'button') return null;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `bk-button${element.style ? ` ${element.style}` : ''}`;
  const text = element.text?.text ?? '';
  button.textContent = text;
  button.addEventListener('click', () => ctx.onButton({ actionId: element.action_id ?? '', blockId, value: element.value ?? '', text }));
  return button;
}

export function div(className: string): HTMLDivElement {
  const node = document.createElement('div');
  node.className = className;
  return node;
}

function withClass<T extends HTMLElement>(node: T, child: Node): T {
  node.append(child);
  return node;
}
