// Small DOM and formatting helpers. Text always goes in as text nodes (never as HTML), so
// nothing a recording, a file name or a speaker name contains can become markup.

/**
 * Create an element: h("button", {class: "x", onclick: fn}, "Label", child, ...).
 * Attributes starting with "on" become listeners; `dataset` and `style` objects are applied
 * through the DOM (CSSOM), which the page's Content-Security-Policy allows.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "style") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else if (name === "class") {
      el.className = value;
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** 75.3 -> "1:15", 3725 -> "1:02:05". */
export function clock(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Bytes as "12.4 MB". */
export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const thisYear = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });

/** An ISO time as a local date and time ({short: true}: without this year's year). */
export function when(iso, { short = false } = {}) {
  if (!iso) return "";
  const date = new Date(iso);
  if (short && date.getFullYear() === new Date().getFullYear()) return thisYear.format(date);
  return dateFormat.format(date);
}

/** Announce a message in a live region (screen readers) and show it. */
export function say(el, message, kind = "info") {
  el.textContent = message || "";
  el.dataset.kind = kind;
}
