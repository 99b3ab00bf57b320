// The review page's keyboard: S same person, D different persons, N not sure, / the note, Esc leaves it;
// on a category conflict 1, 2, ... the record that stands, W both wrong.
// Each key presses its button (the buttons carry data-key); one decision per page, however fast the keys.
// Keys are read by their place on the keyboard (event.code), so they work in the Ukrainian layout too.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("decide");
  if (!form) return;
  const note = document.getElementById("note");
  let sent = false;
  form.addEventListener("submit", (event) => {
    if (sent) event.preventDefault();
    sent = true;
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (event.target === note) {
      if (event.key === "Escape") note.blur();
      return;
    }
    if (event.target.closest("input, select, textarea")) return;
    if (event.code === "Slash") {
      event.preventDefault();
      note.focus();
      return;
    }
    const key = event.code.startsWith("Key") ? event.code.slice(3).toLowerCase()
      : event.code.startsWith("Digit") ? event.code.slice(5) : "";
    const button = key && form.querySelector(`button[data-key="${key}"]`);
    if (button && !sent) {
      event.preventDefault();
      form.requestSubmit(button);
    }
  });
});
