// Small DOM helpers: no framework, just elements.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  // Any depth: a list of [dt, dd] pairs is as good as the elements themselves.
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function $$(selector, root = document) {
  return [...root.querySelectorAll(selector)];
}

// Shows 422 details next to the fields: `[data-error-for="caller.phone"]` gets the
// message of loc ["body", "caller", "phone"]; anything unplaced goes to `general`.
export function showFieldErrors(root, details, general) {
  clearFieldErrors(root);
  const unplaced = [];
  for (const item of details) {
    const loc = (item.loc || []).filter((part) => part !== "body");
    let placed = false;
    for (let n = loc.length; n > 0 && !placed; n--) {
      const key = loc.slice(0, n).join(".");
      const slot = root.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
      if (slot) {
        slot.textContent = slot.textContent ? `${slot.textContent}; ${item.msg}` : item.msg;
        const field = root.querySelector(`[name="${CSS.escape(key)}"]`);
        if (field) field.setAttribute("aria-invalid", "true");
        placed = true;
      }
    }
    if (!placed) unplaced.push(`${loc.join(".") || "body"}: ${item.msg}`);
  }
  if (general) general.textContent = unplaced.join("\n");
  const first = root.querySelector("[aria-invalid=true]");
  if (first) first.focus();
}

export function clearFieldErrors(root) {
  for (const slot of root.querySelectorAll("[data-error-for]")) slot.textContent = "";
  for (const field of root.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

export function download(filename, data) {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
