// Copy buttons: a button with data-copy-target copies that element's text to the clipboard.
// The buttons are hidden until this script shows them, so pages without JavaScript show none.
'use strict';

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

async function copyFrom(button) {
  const source = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!source) {
    return;
  }
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
    if (status) {
      status.textContent = 'Copied.';
    }
  } catch (error) {
    // The clipboard is unavailable (no permission, or not a secure context): select the
    // text so that the administrator can copy it with the keyboard.
    selectText(source);
    if (status) {
      status.textContent = 'Copying failed; the text is selected, press Ctrl+C to copy it.';
    }
  }
}

for (const button of document.querySelectorAll('button[data-copy-target]')) {
  button.hidden = false;
  button.addEventListener('click', () => copyFrom(button));
}
