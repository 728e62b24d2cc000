// A link of a form's error summary moves the focus to the field it names (a fragment link alone
// only scrolls there), with the field's label in view above it.
document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  const field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  const label = document.querySelector(`label[for="${field.id}"]`) || field.closest("fieldset") || field;
  label.scrollIntoView({block: "start"});
  field.focus({preventScroll: true});
});

// A page that shows a form's errors starts at its summary. (The autofocus attribute alone does not
// do it when the address carries a fragment, e.g. #main after the skip link.)
const summary = document.querySelector(".error-summary");
if (summary) {
  summary.focus();
  // The browser moves the focus to the fragment's target after the scripts ran: come back after it.
  if (location.hash) {
    window.addEventListener("load", () => requestAnimationFrame(() => summary.focus()));
  }
}
