// On a narrow screen a wide table scrolls sideways inside its own box (static/css/app.css). A box that
// scrolls must be reachable with the keyboard (WCAG 2.1.1): such a table joins the Tab order while,
// and only while, it is wider than its box.
(() => {
  const tables = () => document.querySelectorAll("main table, .sheet table");
  const update = () => {
    for (const table of tables()) {
      const scrolls = table.scrollWidth > table.clientWidth + 1 && getComputedStyle(table).overflowX !== "visible";
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollFocus = "1";
      } else if (!scrolls && table.dataset.scrollFocus) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
      }
    }
  };
  update();
  window.addEventListener("resize", update);
})();
