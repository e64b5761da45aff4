// A modal yes/no question (unlink, remove provider), keyboard operable: Esc cancels.

import { h } from '../dom';

export function confirmDialog(opts: {
  title: string;
  text: string;
  confirm: string;
  danger?: boolean;
}): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = 'confirm-title';
    const cancel = h('button', { class: 'btn', type: 'button', id: 'confirm-cancel' }, 'Cancel');
    const ok = h(
      'button',
      { class: `btn ${opts.danger ? 'btn-danger' : 'btn-primary'}`, type: 'button', id: 'confirm-ok' },
      opts.confirm,
    );
    const dialog = h(
      'dialog',
      { class: 'dialog dialog-small', 'aria-labelledby': titleId },
      h('h2', { id: titleId, class: 'dialog-title' }, opts.title),
      h('p', { class: 'dialog-text' }, opts.text),
      h('div', { class: 'dialog-buttons' }, cancel, ok),
    );
    let answered = false;
    const finish = (answer: boolean) => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener('click', () => finish(false));
    ok.addEventListener('click', () => finish(true));
    dialog.addEventListener('close', () => finish(false));
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus(); // the safe choice is the default
  });
}
