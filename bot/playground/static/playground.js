// The playground page: shows the local Slack's channel, its modals and ephemeral replies, and
// turns clicks and submissions into the requests Slack would make (the server signs and sends them).
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const NOT_ANSWERING = "The playground is not answering; is `python -m bot playground` still running? Try again once it is.";
  const api = async (path, body) => {
    let response;
    try {
      response = await fetch(path, {
        method: body === undefined ? "GET" : "POST",
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new Error(NOT_ANSWERING); // the browser's own words ("Failed to fetch") say nothing
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || data.detail || `${response.status} ${response.statusText}`);
    return data;
  };

  let state = { messages: [], views: [], users: {}, me: { id: "", name: "you" } };
  let linked = null; // { channel, ts } of the message a permalink led to
  let version = -1;
  // This tab's id: a modal opened by a gesture here shows here only, and not after a reload.
  const TAB = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2)).replace(/-/g, "");

  function toast(text, isError) {
    const node = $("toast");
    node.textContent = text;
    node.className = "toast" + (isError ? " error" : "");
    node.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (node.hidden = true), 4000);
  }

  const fmtTime = (ts) =>
    new Date(parseFloat(ts) * 1000).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });

  function avatar(message) {
    const node = document.createElement("div");
    node.className = "avatar" + (message.bot ? " bot" : "");
    node.textContent = (message.author || "?").slice(0, 1).toUpperCase();
    return node;
  }

  function renderMessage(message) {
    const node = document.createElement("div");
    node.className = "message" + (message.ephemeral ? " ephemeral" : "") + (message.thread_ts && message.thread_ts !== message.ts ? " reply" : "");
    node.dataset.ts = message.ts;
    node.dataset.channel = message.channel;
    if (message.updated) node.dataset.updated = "1";
    if (linked && linked.ts === message.ts && linked.channel === message.channel) node.classList.add("linked");
    node.appendChild(avatar(message));
    const body = document.createElement("div");
    body.className = "message-body";
    const head = document.createElement("div");
    head.className = "message-head";
    const name = document.createElement("span");
    name.className = "author";
    name.textContent = message.author || "unknown";
    head.appendChild(name);
    if (message.bot) {
      const badge = document.createElement("span");
      badge.className = "app-badge";
      badge.textContent = "APP";
      head.appendChild(badge);
    }
    const time = document.createElement("span");
    time.className = "time";
    time.textContent = fmtTime(message.ts);
    head.appendChild(time);
    body.appendChild(head);

    const content = document.createElement("div");
    content.className = "message-content";
    if (message.blocks && message.blocks.length) {
      content.appendChild(
        BlockKit.renderBlocks(message.blocks, {
          users: state.users,
          onAction: message.ephemeral ? null : (element, block) => clickButton(message, element, block),
        }),
      );
    } else {
      const text = document.createElement("div");
      text.className = "bk-plain";
      text.innerHTML = BlockKit.mrkdwn(message.text || "", state.users);
      content.appendChild(text);
    }
    if (message.updated) {
      // Slack writes "(edited)" at the end of the message's last line of text.
      const edited = document.createElement("span");
      edited.className = "edited";
      edited.textContent = "(edited)";
      const texts = content.querySelectorAll(".bk-section-body, .bk-context, .bk-plain");
      (texts.length ? texts[texts.length - 1] : content).appendChild(edited);
    }
    body.appendChild(content);
    if (message.ephemeral) {
      const note = document.createElement("div");
      note.className = "ephemeral-note";
      note.textContent = "Only visible to you";
      body.appendChild(note);
    }
    node.appendChild(body);
    return node;
  }

  // Thread replies are shown under their parent, indented, as in Slack's thread view.
  function renderMessages() {
    const list = $("message-list");
    const atBottom = list.parentElement.scrollHeight - list.parentElement.scrollTop - list.parentElement.clientHeight < 80;
    const roots = [];
    const replies = {};
    for (const m of state.messages) {
      if (m.thread_ts && m.thread_ts !== m.ts) (replies[m.thread_ts] = replies[m.thread_ts] || []).push(m);
      else roots.push(m);
    }
    const known = new Set(roots.map((m) => m.ts));
    for (const [ts, items] of Object.entries(replies)) if (!known.has(ts)) roots.push(...items);
    roots.sort((a, b) => parseFloat(a.ts) - parseFloat(b.ts));
    const frag = document.createDocumentFragment();
    for (const root of roots) {
      frag.appendChild(renderMessage(root));
      const thread = replies[root.ts];
      if (thread && known.has(root.ts)) {
        const box = document.createElement("div");
        box.className = "thread";
        box.dataset.threadTs = root.ts;
        const count = document.createElement("div");
        count.className = "thread-count";
        count.textContent = `${thread.length} ${thread.length === 1 ? "reply" : "replies"}`;
        box.appendChild(count);
        for (const reply of thread) box.appendChild(renderMessage(reply));
        frag.appendChild(box);
      }
    }
    list.replaceChildren(frag);
    if (atBottom) list.parentElement.scrollTop = list.parentElement.scrollHeight;
  }

  // The open modal of this tab. Redrawn only when another view (or a new version of it) comes:
  // field errors are set in place, and a redrawn version keeps what was typed, as Slack does.
  let shownModal = null; // { id, hash, inputs, node }

  function renderModal() {
    const root = $("modal-root");
    const top = state.views[state.views.length - 1];
    if (!top) {
      shownModal = null;
      root.hidden = true;
      root.replaceChildren();
      return;
    }
    if (shownModal && shownModal.id === top.id && shownModal.hash === top.hash) {
      showErrors(shownModal, top.errors || {});
      return;
    }
    const typed = shownModal && shownModal.id === top.id ? BlockKit.stateValues(shownModal.inputs) : null;
    const view = top.view;
    const inputs = [];
    const modal = document.createElement("form");
    modal.className = "modal";
    modal.noValidate = true; // the Slack client's own checks below, not the browser's bubbles
    modal.dataset.viewId = top.id;
    if (view.callback_id) modal.dataset.callbackId = view.callback_id;
    const header = document.createElement("div");
    header.className = "modal-header";
    const title = document.createElement("div");
    title.className = "modal-title";
    title.textContent = (view.title && view.title.text) || "";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "modal-x";
    close.title = "Close";
    close.textContent = "×";
    close.addEventListener("click", () => closeView(top));
    header.append(title, close);
    const body = document.createElement("div");
    body.className = "modal-body";
    body.appendChild(
      BlockKit.renderBlocks(view.blocks, {
        users: state.users,
        errors: top.errors || {},
        inputs,
        onAction: (element, block) => clickButton(null, element, block, top),
      }),
    );
    if (typed) for (const ctl of inputs) if (typed[ctl.blockId] && typed[ctl.blockId][ctl.actionId]) ctl.write(typed[ctl.blockId][ctl.actionId]);
    const footer = document.createElement("div");
    footer.className = "modal-footer";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "modal-cancel";
    cancel.textContent = (view.close && view.close.text) || "Cancel";
    cancel.addEventListener("click", () => closeView(top));
    footer.appendChild(cancel);
    if (view.submit) {
      const submit = document.createElement("button");
      submit.type = "submit";
      submit.className = "modal-submit";
      submit.textContent = view.submit.text;
      footer.appendChild(submit);
    }
    const shown = { id: top.id, hash: top.hash, inputs, node: modal };
    modal.addEventListener("submit", async (event) => {
      event.preventDefault();
      // As the Slack client: required fields and malformed values are stopped before sending.
      const local = {};
      for (const ctl of inputs) {
        const problem = ctl.check();
        if (problem) local[ctl.blockId] = problem;
      }
      if (Object.keys(local).length) return showErrors(shown, local);
      const button = modal.querySelector(".modal-submit");
      if (button) button.disabled = true;
      try {
        const answer = await api("/playground/api/submit", { view_id: top.id, values: BlockKit.stateValues(inputs) });
        if (answer.errors && Object.keys(answer.errors).length) showErrors(shown, answer.errors);
        await refresh();
      } catch (err) {
        toast(String(err.message || err), true);
      } finally {
        if (button) button.disabled = false;
      }
    });
    modal.append(header, body, footer);
    root.replaceChildren(modal);
    root.hidden = false;
    shownModal = shown;
    const first = modal.querySelector(".has-error input, .has-error textarea, .has-error select") || modal.querySelector("textarea, input, select");
    if (first) first.focus();
  }

  function showErrors(shown, errors) {
    for (const block of shown.node.querySelectorAll(".bk-input-block")) BlockKit.showError(block, errors[block.dataset.blockId]);
    const first = shown.node.querySelector(".has-error input, .has-error textarea, .has-error select");
    if (first && !first.contains(document.activeElement) && document.activeElement !== first) first.focus();
  }

  async function closeView(top) {
    try {
      await api("/playground/api/close", { view_id: top.id });
    } finally {
      await refresh();
    }
  }

  async function clickButton(message, element, block, view) {
    try {
      await api("/playground/api/click", {
        channel: message ? message.channel : null,
        ts: message ? message.ts : null,
        view_id: view ? view.id : null,
        action_id: element.action_id,
        block_id: block.block_id,
        value: element.value ?? null,
        tab: TAB,
        values: view && shownModal && shownModal.id === view.id ? BlockKit.stateValues(shownModal.inputs) : undefined,
      });
      await refresh();
    } catch (err) {
      toast(String(err.message || err), true);
    }
  }

  // A permalink (`/#/archives/<channel>/p<ts digits>`) scrolls to its message and marks it, in
  // this tab; one opened in a new tab does the same once the channel is drawn.
  function showLinked(hash) {
    const m = /^#\/archives\/([^/]+)\/p(\d{7,})$/.exec(hash || "");
    if (!m) return false;
    const ts = `${m[2].slice(0, -6)}.${m[2].slice(-6)}`;
    const node = document.querySelector(`.message[data-channel="${CSS.escape(m[1])}"][data-ts="${CSS.escape(ts)}"]`);
    if (!node) {
      toast("That message is no longer in the channel.", true);
      return true;
    }
    for (const old of document.querySelectorAll(".message.linked")) old.classList.remove("linked");
    linked = { channel: m[1], ts };
    node.classList.add("linked");
    node.scrollIntoView({ block: "center" });
    return true;
  }

  // Escape closes the open modal, as in Slack (the same as its Cancel).
  document.addEventListener("keydown", (event) => {
    const top = state.views[state.views.length - 1];
    if (event.key !== "Escape" || event.defaultPrevented || !top || $("modal-root").hidden) return;
    event.preventDefault();
    closeView(top);
  });

  $("message-list").addEventListener("click", (event) => {
    const link = event.target.closest("a[href]");
    if (!link || link.origin !== location.origin || link.pathname !== "/") return;
    if (showLinked(link.hash)) event.preventDefault();
  });

  let linkedOnLoad = location.hash;

  function render() {
    $("me").textContent = state.me.name;
    $("channel-name").textContent = state.channel_name;
    $("channel-title").textContent = state.channel_name;
    renderMessages();
    renderModal();
    if (linkedOnLoad && state.messages.length) showLinked(linkedOnLoad), (linkedOnLoad = "");
  }

  async function refresh() {
    const data = await api(`/playground/api/state?tab=${TAB}`);
    if (data.version === version) return;
    version = data.version;
    state = data;
    render();
  }

  async function loadConfig() {
    const config = await api("/playground/api/config");
    $("snippet").textContent = config.snippet;
    const box = $("examples");
    box.replaceChildren();
    if (!config.examples.length) {
      const note = document.createElement("div");
      note.className = "sidebar-note";
      note.textContent = "No bundled example among this server's graphs: start one with /sluice <assistant> <text> below.";
      box.appendChild(note);
    }
    for (const example of config.examples) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "example";
      b.dataset.example = example.id;
      b.innerHTML = `<b>${BlockKit.escapeHtml(example.assistant_id)}</b><span>${BlockKit.escapeHtml(example.description)}</span>`;
      b.addEventListener("click", async () => {
        b.disabled = true;
        try {
          await api("/playground/api/start", { example: example.id });
          await refresh();
        } catch (err) {
          toast(String(err.message || err), true);
        } finally {
          b.disabled = false;
        }
      });
      box.appendChild(b);
    }
  }

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    try {
      await api("/playground/api/send", { text, tab: TAB });
      await refresh();
    } catch (err) {
      toast(String(err.message || err), true);
      input.value = text;
    }
  });

  // Server-sent events say "something changed"; fall back to polling if they drop.
  function listen() {
    const status = $("status");
    let polling = null;
    const source = new EventSource("/playground/api/events");
    source.addEventListener("change", () => refresh().catch(() => {}));
    source.onopen = () => {
      status.textContent = "live";
      status.className = "status live";
      if (polling) clearInterval(polling), (polling = null);
      refresh().catch(() => {});
    };
    source.onerror = () => {
      status.textContent = "reconnecting…";
      status.className = "status";
      if (!polling) polling = setInterval(() => refresh().catch(() => {}), 1500);
    };
  }

  loadConfig().catch((err) => toast(String(err.message || err), true));
  refresh().catch(() => {});
  listen();
})();
