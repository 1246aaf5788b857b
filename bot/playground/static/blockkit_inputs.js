// Block Kit input elements as the Slack client shows and reads them: each becomes a "control"
// that draws the element, reads it as Slack's view.state.values entry, can be given an entry back
// (so a redrawn modal keeps what the person typed) and checks what the Slack client checks before
// it lets a modal be submitted (required fields, lengths, numbers, emails, URLs).
"use strict";

(function () {
  const plain = (obj) => (obj && obj.text) || "";

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function optionsOf(element) {
    const found = [...(element.options || [])];
    for (const group of element.option_groups || []) found.push(...(group.options || []));
    return found;
  }

  const sameOption = (a, b) => !!a && !!b && a.value === b.value;

  // Slack's option text: plain for menus, mrkdwn allowed for radio buttons and checkboxes.
  function optionLabel(option, mrkdwn) {
    const label = el("span", "bk-option-text");
    if (mrkdwn && option.text && option.text.type === "mrkdwn") label.innerHTML = mrkdwn(option.text.text);
    else label.textContent = plain(option.text);
    const box = el("span", "bk-option-label");
    box.appendChild(label);
    if (option.description) box.appendChild(el("span", "bk-option-description", plain(option.description)));
    return box;
  }

  // --- text, email, URL and number inputs -------------------------------------------------

  const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function numberProblem(element, text) {
    const decimals = element.is_decimal_allowed === true;
    const pattern = decimals ? /^-?(\d+\.?\d*|\.\d+)$/ : /^-?\d+$/;
    if (!pattern.test(text)) return decimals ? "Enter a number." : "Enter a whole number.";
    const n = Number(text);
    const low = element.min_value !== undefined ? Number(element.min_value) : null;
    const high = element.max_value !== undefined ? Number(element.max_value) : null;
    if (low !== null && high !== null && (n < low || n > high)) return `Enter a number between ${low} and ${high}.`;
    if (low !== null && n < low) return `Enter a number of at least ${low}.`;
    if (high !== null && n > high) return `Enter a number of at most ${high}.`;
    return null;
  }

  function textControl(element, label) {
    const kind = element.type;
    const multiline = kind === "plain_text_input" && element.multiline;
    const node = multiline ? el("textarea", "bk-input") : el("input", "bk-input");
    if (multiline) node.rows = Math.min(12, Math.max(4, String(element.initial_value || "").split("\n").length + 1));
    else node.type = kind === "email_text_input" ? "email" : kind === "url_text_input" ? "url" : "text";
    if (kind === "number_input") node.inputMode = element.is_decimal_allowed ? "decimal" : "numeric";
    if (/\bJSON\b/.test(label)) node.classList.add("bk-mono");
    node.value = element.initial_value ?? "";
    if (element.max_length) node.maxLength = element.max_length;
    if (element.placeholder) node.placeholder = plain(element.placeholder);
    return {
      node,
      focusable: node,
      read: () => ({ type: kind, value: node.value === "" ? null : node.value }),
      write: (entry) => (node.value = entry.value ?? ""),
      empty: () => node.value.trim() === "",
      problem() {
        const text = node.value.trim();
        if (!text) return null;
        if (kind === "number_input") return numberProblem(element, text);
        if (kind === "email_text_input" && !EMAIL.test(text)) return "Enter a valid email address.";
        if (kind === "url_text_input" && !/^https?:\/\/[^\s.]+\.\S+$/i.test(text)) return "Enter a valid URL.";
        if (element.min_length && node.value.length < element.min_length)
          return `Enter at least ${element.min_length} characters.`;
        return null;
      },
    };
  }

  // --- menus ------------------------------------------------------------------------------

  function selectControl(element) {
    const multi = element.type === "multi_static_select";
    const node = el("select", "bk-input bk-select");
    node.multiple = multi;
    const initial = multi ? element.initial_options || [] : element.initial_option ? [element.initial_option] : [];
    if (!multi) {
      const none = el("option", "bk-placeholder", plain(element.placeholder) || "Select an option");
      none.value = "";
      none.selected = initial.length === 0;
      node.appendChild(none);
    }
    const addOption = (parent, option) => {
      const o = el("option", null, plain(option.text));
      o.value = option.value;
      o.selected = initial.some((i) => sameOption(i, option));
      parent.appendChild(o);
    };
    for (const option of element.options || []) addOption(node, option);
    for (const group of element.option_groups || []) {
      const g = el("optgroup");
      g.label = plain(group.label);
      for (const option of group.options || []) addOption(g, option);
      node.appendChild(g);
    }
    if (multi) node.size = Math.min(8, Math.max(3, optionsOf(element).length));
    const chosen = () => optionsOf(element).filter((o) => [...node.selectedOptions].some((s) => s.value === o.value));
    return {
      node,
      focusable: node,
      read: () =>
        multi
          ? { type: element.type, selected_options: chosen() }
          : { type: element.type, selected_option: chosen()[0] || null },
      write(entry) {
        const wanted = multi ? entry.selected_options || [] : entry.selected_option ? [entry.selected_option] : [];
        for (const o of node.options) o.selected = wanted.some((w) => w.value === o.value);
        if (!multi && !wanted.length) node.value = "";
      },
      empty: () => chosen().length === 0,
      problem: () =>
        multi && element.max_selected_items && chosen().length > element.max_selected_items
          ? `Select at most ${element.max_selected_items}.`
          : null,
    };
  }

  // --- radio buttons and checkboxes -------------------------------------------------------

  let groupSeq = 0;

  function choiceControl(element, blockId) {
    const single = element.type === "radio_buttons";
    const node = el("div", single ? "bk-radios" : "bk-checkboxes");
    const name = `bk-${blockId}-${element.action_id}-${++groupSeq}`;
    const initial = single ? (element.initial_option ? [element.initial_option] : []) : element.initial_options || [];
    const boxes = [];
    for (const option of element.options || []) {
      const row = el("label", "bk-choice");
      const box = el("input");
      box.type = single ? "radio" : "checkbox";
      box.name = name;
      box.value = option.value;
      box.checked = initial.some((i) => sameOption(i, option));
      boxes.push([box, option]);
      row.append(box, optionLabel(option, true));
      node.appendChild(row);
    }
    const chosen = () => boxes.filter(([box]) => box.checked).map(([, option]) => option);
    return {
      node,
      focusable: boxes.length ? boxes[0][0] : node,
      read: () =>
        single
          ? { type: element.type, selected_option: chosen()[0] || null }
          : { type: element.type, selected_options: chosen() },
      write(entry) {
        const wanted = single ? (entry.selected_option ? [entry.selected_option] : []) : entry.selected_options || [];
        for (const [box, option] of boxes) box.checked = wanted.some((w) => sameOption(w, option));
      },
      empty: () => chosen().length === 0,
      problem: () => null,
    };
  }

  // --- date, time and date-time pickers ---------------------------------------------------

  const pad = (n) => String(n).padStart(2, "0");
  // A UNIX timestamp as the browser's datetime-local value, in the reader's time zone (as Slack).
  function localDateTime(stamp) {
    const d = new Date(stamp * 1000);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function pickerControl(element) {
    const kind = element.type;
    const node = el("input", "bk-input bk-picker");
    node.type = kind === "datepicker" ? "date" : kind === "timepicker" ? "time" : "datetime-local";
    const field = { datepicker: "selected_date", timepicker: "selected_time", datetimepicker: "selected_date_time" }[kind];
    const toInput = (v) => (v === null || v === undefined ? "" : kind === "datetimepicker" ? localDateTime(v) : v);
    const initial = { datepicker: element.initial_date, timepicker: element.initial_time, datetimepicker: element.initial_date_time }[kind];
    node.value = toInput(initial);
    const read = () => {
      let value = node.value || null;
      // The input shows minutes: an untouched picker reports its initial timestamp exactly, as Slack.
      if (value && kind === "datetimepicker") value = value === toInput(initial) ? initial : Math.floor(new Date(value).getTime() / 1000);
      if (value && kind === "timepicker") value = value.slice(0, 5);
      const entry = { type: kind, [field]: value };
      if (kind === "timepicker" && element.timezone) entry.timezone = element.timezone;
      return entry;
    };
    return {
      node,
      focusable: node,
      read,
      write: (entry) => (node.value = toInput(entry[field])),
      empty: () => !node.value,
      problem: () => (node.validity && node.validity.badInput ? "Enter a complete value." : null),
    };
  }

  // --- the control of one input block -----------------------------------------------------

  let mrkdwn = (text) => String(text);

  function control(element, block) {
    const label = plain(block.label);
    let made;
    switch (element.type) {
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input":
        made = textControl(element, label);
        break;
      case "static_select":
      case "multi_static_select":
        made = selectControl(element);
        break;
      case "radio_buttons":
      case "checkboxes":
        made = choiceControl(element, block.block_id);
        break;
      case "datepicker":
      case "timepicker":
      case "datetimepicker":
        made = pickerControl(element);
        break;
      default:
        return null;
    }
    const ctl = {
      ...made,
      blockId: block.block_id,
      actionId: element.action_id,
      kind: element.type,
      optional: block.optional === true,
      // What the Slack client says before it lets the modal be submitted (null: fine).
      check() {
        if (ctl.empty()) return ctl.optional ? null : "Please complete this required field.";
        return made.problem();
      },
    };
    for (const [key, value] of Object.entries({ inputId: `${block.block_id}::${element.action_id}`, blockId: block.block_id, actionId: element.action_id, kind: element.type }))
      made.node.dataset[key] = value;
    return ctl;
  }

  window.BlockKitInputs = {
    control,
    optionsOf,
    useMrkdwn: (render) => (mrkdwn = render),
  };
})();
