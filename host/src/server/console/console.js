// The console's only script: filter tables as you type, add items to
// repeatable groups, and switch an operation form to raw JSON.
document.addEventListener('DOMContentLoaded', () => {
  const filter = document.getElementById('filter');
  if (filter) {
    filter.addEventListener('input', () => {
      const needle = filter.value.toLowerCase();
      for (const row of document.querySelectorAll('tr[data-search]')) {
        row.classList.toggle('hidden', !row.dataset.search.includes(needle));
      }
    });
  }
  for (const button of document.querySelectorAll('button.add')) {
    button.addEventListener('click', () => {
      const group = button.closest('fieldset.repeat');
      const items = group.querySelectorAll(':scope > div.item');
      const last = items[items.length - 1];
      const copy = last.cloneNode(true);
      const path = group.dataset.path;
      const next = items.length;
      const from = `${path}.${next - 1}`;
      const to = `${path}.${next}`;
      for (const element of copy.querySelectorAll('[name], [id], [for], [data-path]')) {
        for (const attribute of ['name', 'id', 'for', 'data-path']) {
          const value = element.getAttribute(attribute);
          if (value && value.includes(from)) element.setAttribute(attribute, value.replace(from, to));
        }
        if ('value' in element && element.type !== 'checkbox' && element.tagName !== 'OPTION') element.value = '';
        if (element.type === 'checkbox') element.checked = false;
      }
      last.after(copy);
    });
  }
  const raw = document.getElementById('raw-mode');
  if (raw) {
    const fields = document.getElementById('form-fields');
    const toggle = () => {
      fields.classList.toggle('hidden', raw.checked);
      document.getElementById('raw-fields').classList.toggle('hidden', !raw.checked);
      // Hidden fields must neither block the submission nor be sent.
      for (const element of fields.querySelectorAll('input, select, textarea, button')) element.disabled = raw.checked;
    };
    raw.addEventListener('change', toggle);
    toggle();
  }
});
