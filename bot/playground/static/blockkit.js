// Renders Slack Block Kit and mrkdwn to DOM, the way the Slack client shows them.
// Only what a bot commonly sends: section, context, divider, header, actions, input, image,
// markdown and rich_text blocks; buttons, and the inputs of blockkit_inputs.js.
"use strict";

(function () {
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ESC[c]);
  // Slack escapes &, <, > in message text; undo it before we escape for HTML ourselves.
  const unslack = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // <url|label>, <@U123>, <#C123|name>, <!here> tokens of Slack's text formatting.
  function renderToken(inner, users) {
    const [target, label] = inner.split("|", 2);
    if (target.startsWith("@")) {
      const name = (users && users[target.slice(1)]) || label || target.slice(1);
      return `<span class="mention">@${escapeHtml(name)}</span>`;
    }
    if (target.startsWith("#")) return `<span class="mention">#${escapeHtml(label || target.slice(1))}</span>`;
    if (target.startsWith("!date^")) return `<span class="date">${escapeHtml(formatDate(target, label))}</span>`;
    if (target.startsWith("!")) return `<span class="mention">@${escapeHtml((label || target.slice(1)).split("^")[0])}</span>`;
    const url = unslack(target);
    const safe = /^(https?:|mailto:)/i.test(url) ? url : "#";
    return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener">${escapeHtml(unslack(label || target))}</a>`;
  }

  // <!date^<unix ts>^<format>|fallback>, in the reader's time zone as Slack shows it.
  function formatDate(target, fallback) {
    const [, ts, format] = target.split("^");
    const when = new Date(Number(ts) * 1000);
    if (!format || Number.isNaN(when.getTime())) return fallback || ts;
    const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const daysAgo = Math.round((day(new Date()) - day(when)) / 86400000);
    const pretty = (long) =>
      daysAgo === 0 ? "Today" : daysAgo === 1 ? "Yesterday" : daysAgo === -1 ? "Tomorrow" : long;
    const parts = {
      date_num: when.toISOString().slice(0, 10),
      date: when.toLocaleDateString([], { month: "long", day: "numeric", year: "numeric" }),
      date_short: when.toLocaleDateString([], { month: "short", day: "numeric", year: "numeric" }),
      date_long: when.toLocaleDateString([], { weekday: "long", month: "long", day: "numeric", year: "numeric" }),
      time: when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }),
      time_secs: when.toLocaleTimeString([], { hour: "numeric", minute: "2-digit", second: "2-digit" }),
    };
    parts.date_pretty = pretty(parts.date);
    parts.date_short_pretty = pretty(parts.date_short);
    parts.date_long_pretty = pretty(parts.date_long);
    return format.replace(/\{(\w+)\}/g, (whole, name) => parts[name] ?? whole);
  }

  // The shortcodes a bot is likely to use; others stay as typed, as in Slack without the emoji.
  const EMOJI = {
    white_check_mark: "\u2705", heavy_check_mark: "\u2714\ufe0f", x: "\u274c", no_entry_sign: "\ud83d\udeab",
    no_entry: "\u26d4", warning: "\u26a0\ufe0f", pencil: "\ud83d\udcdd", pencil2: "\u270f\ufe0f", memo: "\ud83d\udcdd",
    hourglass: "\u231b", hourglass_flowing_sand: "\u23f3", speech_balloon: "\ud83d\udcac", eyes: "\ud83d\udc40",
    arrow_forward: "\u25b6\ufe0f", pause_button: "\u23f8\ufe0f", double_vertical_bar: "\u23f8\ufe0f",
    stop_button: "\u23f9\ufe0f", robot_face: "\ud83e\udd16", bell: "\ud83d\udd14", tada: "\ud83c\udf89",
    question: "\u2753", lock: "\ud83d\udd12", email: "\ud83d\udce7", envelope: "\u2709\ufe0f",
    wastebasket: "\ud83d\uddd1\ufe0f", rotating_light: "\ud83d\udea8", red_circle: "\ud83d\udd34",
    large_green_circle: "\ud83d\udfe2", large_yellow_circle: "\ud83d\udfe1", hammer_and_wrench: "\ud83d\udee0\ufe0f",
    wrench: "\ud83d\udd27", leftwards_arrow_with_hook: "\u21a9\ufe0f", boom: "\ud83d\udca5",
    stopwatch: "\u23f1\ufe0f", clock3: "\ud83d\udd52", information_source: "\u2139\ufe0f", thread: "\ud83e\uddf5",
  };
  const emoji = (text) => text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);

  // Inline styles on already-escaped text: `code`, *bold*, _italic_, ~strike~. Code spans are set
  // aside first, so that a style may wrap one (*Tool call: `send_email`*) and nothing styles inside one.
  function inline(text) {
    const codes = [];
    const work = text.replace(/`([^`\n]+)`/g, (_, code) => `\u0001${codes.push(code) - 1}\u0001`);
    const open = "(^|[\\s(>\\u0000\\u0001])";
    const close = "(?=$|[\\s).,!?:;<\\u0000\\u0001])";
    const style = (mark, tag) => (html) =>
      html.replace(new RegExp(`${open}\\${mark}(?!\\s)([^${mark}\\n]+?)\\${mark}${close}`, "g"), `$1<${tag}>$2</${tag}>`);
    const styled = [style("*", "b"), style("_", "i"), style("~", "s")].reduce((html, apply) => apply(html), emoji(work));
    return styled.replace(/\u0001(\d+)\u0001/g, (_, n) => `<code>${codes[Number(n)]}</code>`);
  }

  // A line-level pass: > quotes; everything else inline. Tokens are already swapped out.
  // Consecutive quoted lines are one quote, as in Slack; a quote is a block, so no <br> follows it
  // (one would draw an empty line).
  function lines(text) {
    const parts = []; // strings (lines) and arrays (the lines of one quote)
    for (const line of text.split("\n")) {
      const m = /^&gt;\s?(.*)$/.exec(line);
      const last = parts[parts.length - 1];
      if (!m) parts.push(inline(line));
      else if (Array.isArray(last)) last.push(inline(m[1]));
      else parts.push([inline(m[1])]);
    }
    return parts
      .map((part, i) =>
        Array.isArray(part)
          ? `<span class="quote">${part.join("<br>")}</span>`
          : (i > 0 && !Array.isArray(parts[i - 1]) ? "<br>" : "") + part,
      )
      .join("");
  }

  function mrkdwn(raw, users) {
    const text = String(raw ?? "");
    const tokens = [];
    // Swap <...> tokens for placeholders, un-escape Slack entities, escape for HTML.
    const stash = (html) => `\u0000${tokens.push(html) - 1}\u0000`;
    let work = text.replace(/<([^<>\n]+)>/g, (_, inner) => stash(renderToken(inner, users)));
    work = escapeHtml(unslack(work));
    // ```preformatted``` blocks keep their text as is.
    const chunks = work.split(/```/g);
    let html = chunks
      .map((chunk, i) => {
        if (i % 2 === 1) return `<pre class="code">${chunk.replace(/^\n/, "")}</pre>`;
        return lines(chunk);
      })
      .join("");
    html = html.replace(/\u0000(\d+)\u0000/g, (_, n) => tokens[Number(n)]);
    return html;
  }

  function textObject(obj, users) {
    const span = el("span", "text");
    if (!obj) return span;
    if (obj.type === "mrkdwn") span.innerHTML = mrkdwn(obj.text, users);
    else span.textContent = obj.text ?? "";
    return span;
  }

  function button(element, block, ctx) {
    const b = el("button", "bk-button" + (element.style ? " " + element.style : ""));
    b.type = "button";
    b.textContent = (element.text && element.text.text) || "Button";
    b.dataset.actionId = element.action_id || "";
    b.dataset.blockId = block.block_id || "";
    if (element.value !== undefined) b.dataset.value = element.value;
    if (element.url) {
      b.addEventListener("click", () => window.open(element.url, "_blank", "noopener"));
      return b;
    }
    b.disabled = !ctx.onAction;
    b.addEventListener("click", async () => {
      if (element.confirm && !window.confirm(plain(element.confirm.text) || "Are you sure?")) return;
      b.disabled = true;
      try {
        await ctx.onAction(element, block);
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  const plain = (obj) => (obj && obj.text) || "";

  // An input block's element, as a control (see blockkit_inputs.js) listed in ctx.inputs.
  function inputElement(element, block, ctx) {
    const ctl = BlockKitInputs.control(element, block);
    if (!ctl) return el("div", "bk-unsupported", `(${element.type} is not shown in the playground)`);
    if (ctx.inputs) ctx.inputs.push(ctl);
    return ctl.node;
  }

  let inputSeq = 0;

  function renderBlock(block, ctx) {
    const users = ctx.users;
    switch (block.type) {
      case "section": {
        const node = el("div", "bk-section");
        const body = el("div", "bk-section-body");
        if (block.text) body.appendChild(textObject(block.text, users));
        if (block.fields) {
          const grid = el("div", "bk-fields");
          for (const f of block.fields) grid.appendChild(textObject(f, users));
          body.appendChild(grid);
        }
        node.appendChild(body);
        if (block.accessory) {
          const acc = el("div", "bk-accessory");
          if (block.accessory.type === "button") acc.appendChild(button(block.accessory, block, ctx));
          else if (block.accessory.type === "image") {
            const img = el("img");
            img.src = block.accessory.image_url;
            img.alt = block.accessory.alt_text || "";
            acc.appendChild(img);
          }
          node.appendChild(acc);
        }
        return node;
      }
      case "header":
        return el("div", "bk-header", plain(block.text));
      case "divider":
        return el("hr", "bk-divider");
      case "context": {
        const node = el("div", "bk-context");
        for (const item of block.elements || []) {
          if (item.type === "image") {
            const img = el("img");
            img.src = item.image_url;
            img.alt = item.alt_text || "";
            node.appendChild(img);
          } else node.appendChild(textObject(item, users));
        }
        return node;
      }
      case "actions": {
        const node = el("div", "bk-actions");
        for (const item of block.elements || []) {
          if (item.type === "button") node.appendChild(button(item, block, ctx));
          else node.appendChild(el("span", "bk-unsupported", `(${item.type})`));
        }
        return node;
      }
      case "markdown": {
        const node = el("div", "bk-markdown");
        node.innerHTML = mrkdwn(block.text, users);
        return node;
      }
      case "image": {
        const node = el("div", "bk-image");
        if (block.title) node.appendChild(el("div", "bk-image-title", plain(block.title)));
        const img = el("img");
        img.src = block.image_url;
        img.alt = block.alt_text || "";
        node.appendChild(img);
        return node;
      }
      case "rich_text": {
        const node = el("div", "bk-rich");
        for (const part of block.elements || []) {
          const text = (part.elements || []).map((e) => e.text || (e.url ? e.url : "")).join("");
          if (part.type === "rich_text_preformatted") node.appendChild(el("pre", "code", text));
          else if (part.type === "rich_text_quote") node.appendChild(el("div", "quote", text));
          else node.appendChild(el("div", null, text));
        }
        return node;
      }
      case "input": {
        const node = el("div", "bk-input-block");
        node.dataset.blockId = block.block_id || "";
        const label = el("label", "bk-label", plain(block.label));
        if (block.optional) label.appendChild(el("span", "bk-optional", " (optional)"));
        node.appendChild(label);
        const input = inputElement(block.element || {}, block, ctx);
        node.appendChild(input);
        if (/^(INPUT|SELECT|TEXTAREA)$/.test(input.tagName)) {
          input.id = `bk-input-${++inputSeq}`;
          label.htmlFor = input.id;
        }
        if (block.hint) node.appendChild(el("div", "bk-hint", plain(block.hint)));
        showError(node, ctx.errors && ctx.errors[block.block_id]);
        return node;
      }
      default:
        return el("div", "bk-unsupported", `(${block.type} block)`);
    }
  }

  function renderBlocks(blocks, ctx) {
    const frag = document.createDocumentFragment();
    for (const block of blocks || []) frag.appendChild(renderBlock(block, ctx));
    return frag;
  }

  // The message under an input block (Slack's field error); none clears it.
  function showError(blockNode, message) {
    const old = blockNode.querySelector(":scope > .bk-error");
    if (old) old.remove();
    blockNode.classList.toggle("has-error", !!message);
    if (message) blockNode.appendChild(el("div", "bk-error", message));
  }

  // view.state.values as Slack sends it in view_submission: {block_id: {action_id: entry}}.
  function stateValues(inputs) {
    const values = {};
    for (const ctl of inputs) (values[ctl.blockId] = values[ctl.blockId] || {})[ctl.actionId] = ctl.read();
    return values;
  }

  BlockKitInputs.useMrkdwn(mrkdwn);
  window.BlockKit = { mrkdwn, renderBlocks, stateValues, showError, escapeHtml };
})();
