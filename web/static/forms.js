// What every page showing a form-js form shares (the portal's forms, the clerk's task
// forms): the fields' names, the choices' words, and the answers as the API takes them.

// Names of a form-js schema's fields: key -> label.
export function labelsOf(schema) {
  const labels = {};
  (function walk(components) {
    for (const c of components || []) {
      if (c.key) labels[c.key] = c.label || c.dateLabel || c.key;
      walk(c.components);
    }
  })(schema && schema.components);
  return labels;
}

// The words of a form-js schema's choices: key -> { value -> label } (radio, select, checklist).
export function choicesOf(schema) {
  const choices = {};
  (function walk(components) {
    for (const c of components || []) {
      if (c.key && Array.isArray(c.values)) choices[c.key] = Object.fromEntries(c.values.map((v) => [v.value, v.label]));
      walk(c.components);
    }
  })(schema && schema.components);
  return choices;
}

// A form's answers as the API takes them: blank optional fields (and empty
// choice lists) left out.
export function answers(data) {
  return Object.fromEntries(Object.entries(data).filter(([, value]) =>
    value !== "" && value !== null && value !== undefined && !(Array.isArray(value) && value.length === 0)));
}
