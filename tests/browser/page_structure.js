// The structure of the current page as axe-core's WCAG A/AA rules see it (tests/conftest.py,
// `AxeChecks`; ADR 0071). Two pages with the same structure get the same axe result, so axe runs
// once per structure in a test run. What is left out is only what no rule reads or what differs
// between visits to the same kind of page: the words of the text (their presence is kept), id and
// name values (kept as "which element has the same one", so duplicates and broken references
// show), URLs (kept as present, or as the in-page target they point to), CSRF tokens and nonces.
// Everything else is kept as it is: tags, nesting, roles, aria-* tokens, types, classes and inline
// styles (visibility and contrast), lang, tabindex, <style> sheets, the viewport, the scroll position,
// the focus and the hover; and, from the layout, which regions scroll and which targets are under 24 px.
// A page with a frame, an object, audio, video or a shadow root is always checked (`always`).
() => {
  // Attributes that name other elements by id: kept as the order of the id they find, or "?".
  const REFS = new Set([
    "for", "headers", "form", "list", "aria-activedescendant", "aria-controls", "aria-describedby",
    "aria-details", "aria-errormessage", "aria-flowto", "aria-labelledby", "aria-owns",
  ]);
  // Free text: kept as absent, empty, blank, punctuation only, or words.
  const TEXT = new Set([
    "alt", "title", "placeholder", "value", "aria-label", "aria-valuetext", "aria-placeholder",
    "aria-roledescription", "aria-braillelabel", "aria-brailleroledescription", "aria-description",
    "label", "summary", "abbr", "src", "srcset", "action", "formaction", "poster", "data", "cite",
    "datetime", "content",
  ]);
  // Read by no axe rule, and different on every response or every record.
  const DROPPED = new Set(["nonce", "integrity"]);
  const ALWAYS = new Set(["IFRAME", "FRAME", "FRAMESET", "OBJECT", "EMBED", "APPLET", "AUDIO", "VIDEO"]);
  const FOCUSABLE =
    "a[href], area[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex], " +
    "[contenteditable], [role]";

  const textClass = (value) => {
    if (value === "") return "e";
    if (value.trim() === "") return "w";
    return /[\p{L}\p{N}]/u.test(value) ? "t" : "p";
  };

  // Scripts are left out (axe reads none, and axe itself is one once it has run).
  const elements = [...document.querySelectorAll("*")].filter((element) => element.tagName !== "SCRIPT");
  // An id is kept as the order of its value among the page's ids, so an element inserted above
  // does not renumber everything below; the element that has it is the one serialised with it.
  const byId = new Map();
  const byName = new Map();
  for (const element of elements) {
    if (element.id !== "" && !byId.has(element.id)) byId.set(element.id, byId.size);
    const name = element.getAttribute("name");
    if (name !== null && !byName.has(name)) byName.set(name, byName.size);
  }
  const ref = (token) => (byId.has(token) ? byId.get(token) : "?");
  const fragment = (href) => {
    try {
      return decodeURIComponent(href.slice(1));
    } catch {
      return href.slice(1);
    }
  };
  const normal = (text) => (text || "").replace(/\s+/g, " ").trim();

  let always = false;
  const out = [
    `viewport ${window.innerWidth}x${window.innerHeight}@${window.devicePixelRatio}`,
    `mode ${document.compatMode}`,
    `scroll ${Math.round(window.scrollX)},${Math.round(window.scrollY)}`,
  ];
  // Focus and the pointer's :hover (it stays where the last click was) change styles, colours too.
  const focused = document.activeElement;
  const hovered = new Set(document.querySelectorAll(":hover"));

  function attributes(element) {
    const parts = [];
    const meta = element.tagName === "META";
    for (const { name, value } of [...element.attributes].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (DROPPED.has(name) || name.startsWith("data-")) continue;
      if (name === "id") parts.push(`id=#${byId.get(value)}`);
      else if (name === "name") parts.push(`name=${byName.get(value)}`);
      else if (REFS.has(name)) parts.push(`${name}=${value.split(/\s+/).filter(Boolean).map(ref).join(",")}`);
      else if (name === "href") {
        if (element.tagName === "LINK") parts.push(`href=${value}`); // a stylesheet
        else if (value === "") parts.push("href=e");
        else if (value.startsWith("#")) parts.push(`href=#${value.length > 1 ? ref(fragment(value)) : ""}`);
        else parts.push(/^\s*javascript:/i.test(value) ? "href=js" : "href=u");
      } else if (name === "content" && meta) {
        // The viewport and a refresh are what axe reads in a <meta>; other values are the page's data.
        const kind = (element.getAttribute("name") || element.getAttribute("http-equiv") || "").toLowerCase();
        parts.push(kind === "viewport" || kind === "refresh" ? `content=${value}` : `content=${textClass(value)}`);
      } else if (TEXT.has(name)) parts.push(`${name}=${textClass(value)}`);
      else parts.push(`${name}=${value}`);
    }
    return parts;
  }

  const WIDGETS = new Set([
    "button", "checkbox", "combobox", "gridcell", "link", "listbox", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "radio", "scrollbar", "searchbox", "separator", "slider", "spinbutton",
    "switch", "tab", "textbox", "treeitem",
  ]);
  const widget = (element) =>
    element.matches("a[href], area[href], button, input, select, textarea, summary, option") ||
    (element.getAttribute("role") || "").split(/\s+/).some((role) => WIDGETS.has(role));

  function extras(element) {
    const parts = [];
    if (element === focused) parts.push("focused");
    if (hovered.has(element)) parts.push("hovered");
    // label-content-name-mismatch compares a widget's aria-label(ledby) with its own text.
    if (widget(element) && (element.hasAttribute("aria-label") || element.hasAttribute("aria-labelledby"))) {
      const labelledBy = (element.getAttribute("aria-labelledby") || "").split(/\s+/).filter(Boolean);
      const named = labelledBy.map((id) => normal(document.getElementById(id)?.textContent)).join("|");
      parts.push(`name(${element.getAttribute("aria-label") || ""}|${named}|${normal(element.textContent)})`);
    }
    if (element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement || element instanceof HTMLSelectElement) {
      parts.push(`.value=${textClass(element.value)}`);
      if (element.type === "checkbox" || element.type === "radio") parts.push(`.checked=${element.checked}`);
    }
    const style = getComputedStyle(element);
    const scrolls = (overflow) => overflow === "auto" || overflow === "scroll";
    if (
      (scrolls(style.overflowX) && element.scrollWidth > element.clientWidth) ||
      (scrolls(style.overflowY) && element.scrollHeight > element.clientHeight)
    ) {
      parts.push("scrollable"); // scrollable-region-focusable
    }
    if (element.matches(FOCUSABLE)) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.height > 0 && (box.width < 24 || box.height < 24)) parts.push("small"); // target-size
    }
    return parts;
  }

  function walk(node, depth) {
    for (const child of node.childNodes) {
      if (child.nodeType === Node.TEXT_NODE) {
        const kind = textClass(child.data);
        if (kind === "t" || kind === "p") out.push(`${" ".repeat(depth)}"${kind}"`);
      } else if (child.nodeType === Node.ELEMENT_NODE) {
        if (child.tagName === "SCRIPT" || child.tagName === "TEMPLATE") continue;
        if (ALWAYS.has(child.tagName) || child.shadowRoot) always = true;
        const described = [child.tagName.toLowerCase(), ...attributes(child), ...extras(child)];
        if (child.tagName === "STYLE") described.push(`css(${child.textContent})`);
        out.push(`${" ".repeat(depth)}<${described.join(" ")}>`);
        if (child.tagName !== "STYLE") walk(child, depth + 1);
      }
    }
  }
  walk(document, 0);
  return { signature: out.join("\n"), always, axe: typeof window.axe === "object" };
};
