// ncebot playground: a Slack-like client for the Slack stand-in. Vanilla JS, no build step.
// Every piece of Slack text is put into the page with textContent / createTextNode, never as HTML.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const S = {
    me: null, place: null, thread: null, state: null, rev: null,
    modal: { id: null, key: null, values: {} }, polling: null,
  };

  // --- DOM helper: el("div", {class: "x", data: {ts: "1"}}, "text", child) -----------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "data") for (const [dk, dv] of Object.entries(v)) node.dataset[dk] = dv;
      else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
      else if (k === "text") node.textContent = v;
      else if (k in node && typeof v !== "string") node[k] = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  // --- mrkdwn ----------------------------------------------------------------------------------------------
  const EMOJI = {
    white_check_mark: "✅", heavy_check_mark: "✔️", ballot_box_with_check: "☑️", x: "❌", warning: "⚠️",
    no_entry_sign: "🚫", no_entry: "⛔", lock: "🔒", unlock: "🔓", hourglass_flowing_sand: "⏳", hourglass: "⌛",
    outbox_tray: "📤", inbox_tray: "📥", package: "📦", information_source: "ℹ️", bar_chart: "📊", tada: "🎉",
    sparkles: "✨", page_facing_up: "📄", memo: "📝", gear: "⚙️", eyes: "👀", boom: "💥", alarm_clock: "⏰",
    calendar: "📆", date: "📅", spiral_calendar_pad: "🗓️", clock1: "🕐", stopwatch: "⏱️", rocket: "🚀",
    arrows_counterclockwise: "🔄", repeat: "🔁", bell: "🔔", mag: "🔍", thumbsup: "👍", "+1": "👍", wave: "👋",
    hammer_and_wrench: "🛠️", wrench: "🔧", red_circle: "🔴", large_green_circle: "🟢", large_blue_circle: "🔵",
    white_circle: "⚪", large_yellow_circle: "🟡", arrow_right: "➡️", question: "❓", exclamation: "❗",
    link: "🔗", busts_in_silhouette: "👥", bust_in_silhouette: "👤", construction: "🚧", zzz: "💤", fire: "🔥",
    rotating_light: "🚨", stop_sign: "🛑", clipboard: "📋", card_index_dividers: "🗂️", file_folder: "📁",
    moneybag: "💰", credit_card: "💳", hand: "✋", raised_hand: "✋", point_right: "👉", bulb: "💡",
    hourglass_done: "⌛", timer_clock: "⏲️", arrow_forward: "▶️", leftwards_arrow_with_hook: "↩️",
    heavy_plus_sign: "➕", heavy_minus_sign: "➖", robot_face: "🤖", key: "🔑", shield: "🛡️", pushpin: "📌",
    new: "🆕", ok: "🆗", calendar_spiral: "🗓️", chart_with_upwards_trend: "📈", scroll: "📜", email: "📧",
  };
  const decode = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const names = () => (S.state && S.state.names) || {};

  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December"];
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const ordinal = (n) => n + (n % 100 >= 11 && n % 100 <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] || "th");
  const pad = (n) => String(n).padStart(2, "0");
  function clock(d, secs) {
    const h = d.getHours() % 12 || 12;
    return `${h}:${pad(d.getMinutes())}${secs ? ":" + pad(d.getSeconds()) : ""} ${d.getHours() < 12 ? "AM" : "PM"}`;
  }
  function pretty(d, fallback) {
    const day = new Date(d); day.setHours(0, 0, 0, 0);
    const today = new Date(); today.setHours(0, 0, 0, 0);
    const diff = Math.round((day - today) / 86400000);
    return diff === 0 ? "Today" : diff === -1 ? "Yesterday" : diff === 1 ? "Tomorrow" : fallback;
  }
  function slackDate(ts, format) {
    const d = new Date(ts * 1000);
    const date = `${MONTHS[d.getMonth()]} ${ordinal(d.getDate())}, ${d.getFullYear()}`;
    const short = `${MONTHS[d.getMonth()].slice(0, 3)} ${d.getDate()}, ${d.getFullYear()}`;
    const long = `${DAYS[d.getDay()]}, ${date}`;
    const ago = () => {
      const s = Math.round((Date.now() - d) / 1000), a = Math.abs(s);
      const [n, unit] = a < 60 ? [a, "second"] : a < 3600 ? [Math.round(a / 60), "minute"]
        : a < 86400 ? [Math.round(a / 3600), "hour"] : [Math.round(a / 86400), "day"];
      return s >= 0 ? `${n} ${unit}${n === 1 ? "" : "s"} ago` : `in ${n} ${unit}${n === 1 ? "" : "s"}`;
    };
    const tokens = {
      date_num: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`, date, date_short: short,
      date_long: long, date_pretty: pretty(d, date), date_short_pretty: pretty(d, short),
      date_long_pretty: pretty(d, long), time: clock(d, false), time_secs: clock(d, true), ago: ago(),
    };
    return format.replace(/\{([a-z_]+)\}/g, (m, t) => (t in tokens ? tokens[t] : m));
  }

  // <…> tokens: links, user / channel / group mentions, special mentions, dates.
  function special(inner) {
    const [target, ...rest] = inner.split("|");
    const label = rest.length ? decode(rest.join("|")) : null;
    if (target.startsWith("@")) {
      const id = target.slice(1);
      return el("span", { class: "mention" + (id === S.me ? " me" : ""), data: { user: id } },
        "@" + (names()[id] || label || id));
    }
    if (target.startsWith("#")) {
      const id = target.slice(1);
      const channel = ((S.state && S.state.channels) || []).find((c) => c.id === id);
      return el("span", { class: "mention", data: { channel: id } }, "#" + (channel ? channel.name : label || id));
    }
    if (target.startsWith("!subteam^")) {
      const id = target.slice(9);
      const group = (S.state && S.state.groups && S.state.groups[id]) || (label || id).replace(/^@/, "");
      return el("span", { class: "mention", data: { group: id } }, "@" + group);
    }
    if (target.startsWith("!date^")) {
      const [, ts, format, link] = target.split("^");
      const text = Number.isFinite(Number(ts)) ? slackDate(Number(ts), decode(format || "{date}")) : label || "";
      const node = el("span", { class: "slack-date", title: label || "" }, text);
      return link && /^https?:/.test(link) ? el("a", { href: decode(link), target: "_blank", rel: "noopener" }, node)
        : node;
    }
    if (target.startsWith("!")) return el("span", { class: "mention" }, "@" + target.slice(1).split("^")[0]);
    const url = decode(target);
    if (/^(https?:|mailto:)/i.test(url)) {
      return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, label || url);
    }
    return document.createTextNode(label || url);
  }

  // Inline rules, tried at every position; the earliest match wins. Bold/italic/strike need a word boundary.
  const EDGE = "(^|[\\s(\\[{\"'>.,;:!?/-])";
  const END = "(?=$|[\\s)\\]}\"'<.,;:!?/-])";
  const RULES = [
    { re: /`([^`\n]+)`/, make: (m) => el("code", {}, decode(m[1])) },
    { re: /<([^<>\s][^<>]*)>/, make: (m) => special(m[1]) },
    { re: new RegExp(EDGE + "\\*(?=\\S)([^*\\n]*?\\S)\\*" + END), lead: true, make: (m) => el("b", {}, inline(m[2])) },
    { re: new RegExp(EDGE + "_(?=\\S)([^_\\n]*?\\S)_" + END), lead: true, make: (m) => el("i", {}, inline(m[2])) },
    { re: new RegExp(EDGE + "~(?=\\S)([^~\\n]*?\\S)~" + END), lead: true, make: (m) => el("s", {}, inline(m[2])) },
    { re: /:([a-z0-9_+-]+):/, make: (m) => document.createTextNode(EMOJI[m[1]] || m[0]) },
  ];
  function inline(text) {
    const out = [];
    let rest = text;
    while (rest) {
      let best = null;
      for (const rule of RULES) {
        const m = rule.re.exec(rest);
        if (!m) continue;
        const start = m.index + (rule.lead ? m[1].length : 0);
        if (!best || start < best.start) best = { rule, m, start };
      }
      if (!best) { out.push(document.createTextNode(decode(rest))); break; }
      if (best.start > 0) out.push(document.createTextNode(decode(rest.slice(0, best.start))));
      out.push(best.rule.make(best.m));
      rest = rest.slice(best.m.index + best.m[0].length);
    }
    return out;
  }
  function mrkdwn(text) {
    const root = el("div", { class: "mrkdwn" });
    String(text || "").split("```").forEach((part, i) => {
      if (i % 2 === 1) { root.append(el("pre", {}, decode(part.replace(/^\n/, "")))); return; }
      const lines = part.split("\n");
      let quote = null;
      lines.forEach((line, j) => {
        const q = /^(&gt;|>) ?(.*)$/.exec(line);
        if (q) {
          if (!quote) { quote = el("blockquote"); root.append(quote); } else quote.append("\n");
          quote.append(...inline(q[2]));
          return;
        }
        quote = null;
        root.append(...inline(line));
        if (j < lines.length - 1) root.append("\n");
      });
    });
    return root;
  }
  const textObject = (t) => (!t ? el("span") : t.type === "mrkdwn" ? mrkdwn(t.text)
    : el("span", { class: "plain" }, replaceEmoji(t.text || "")));
  const replaceEmoji = (s) => String(s).replace(/:([a-z0-9_+-]+):/g, (m, n) => EMOJI[n] || m);
  const plainText = (t) => replaceEmoji((t && t.text) || "");

  // --- Block Kit ----------------------------------------------------------------------------------------------
  // ctx: {where: "message"|"home"|"modal", channel, message_ts, view_id}
  function renderBlocks(blocks, ctx) {
    const box = el("div", { class: "blocks" });
    for (const block of blocks || []) box.append(renderBlock(block, ctx));
    return box;
  }
  function renderBlock(block, ctx) {
    const bid = block.block_id || "";
    const attrs = (kind) => ({ class: "block " + kind, data: { blockId: bid, type: block.type } });
    switch (block.type) {
      case "header": return el("div", attrs("header"), plainText(block.text));
      case "divider": return el("hr", attrs("divider"));
      case "section": {
        const body = el("div", { class: "section-body" });
        if (block.text) body.append(textObject(block.text));
        if (block.fields) body.append(el("div", { class: "fields" }, block.fields.map((f) => textObject(f))));
        const node = el("div", attrs("section"), body);
        if (block.accessory) node.append(el("div", { class: "accessory" }, renderElement(block.accessory, ctx, bid)));
        return node;
      }
      case "context": return el("div", attrs("context"), (block.elements || []).map((e) =>
        e.type === "image" ? imagePlaceholder(e, true) : textObject(e)));
      case "actions": return el("div", attrs("actions"), (block.elements || []).map((e) => renderElement(e, ctx, bid)));
      case "input": return renderInput(block, ctx);
      case "image": return el("div", attrs("image"), block.title ? plainText(block.title) : null, imagePlaceholder(block));
      case "rich_text": return el("div", attrs("rich_text"), mrkdwn(richText(block.elements)));
      default: return el("div", attrs("unknown"), `[${block.type} block is not shown by the playground]`);
    }
  }
  const richText = (elements) => (elements || []).map((e) => (e.elements ? richText(e.elements) : e.text || "")).join("");
  const imagePlaceholder = (e, small) => el("span", { class: "image-placeholder" + (small ? " small" : ""),
    title: e.alt_text || "" }, small ? "🖼" : `🖼 ${e.alt_text || "image"}`);

  function renderInput(block, ctx) {
    const errors = (ctx.errors || {});
    const node = el("div", { class: "block input input-block" + (errors[block.block_id] ? " has-error" : ""),
      data: { blockId: block.block_id || "", type: "input" } },
    el("label", { class: "input-label" }, plainText(block.label),
      block.optional ? el("span", { class: "optional" }, " (optional)") : null),
    renderElement(block.element || {}, { ...ctx, input: block }, block.block_id || ""));
    if (block.hint) node.append(el("div", { class: "hint-text" }, plainText(block.hint)));
    if (errors[block.block_id]) node.append(el("div", { class: "error-text", data: { testid: "field-error" } },
      errors[block.block_id]));
    return node;
  }

  // The value Slack keeps in view.state.values for an element, from its initial_* fields.
  function initialValue(e) {
    switch (e.type) {
      case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input":
        return { type: e.type, value: e.initial_value ?? null };
      case "datepicker": return { type: e.type, selected_date: e.initial_date ?? null };
      case "timepicker": return { type: e.type, selected_time: e.initial_time ?? null };
      case "checkboxes": case "multi_static_select": case "multi_external_select":
        return { type: e.type, selected_options: e.initial_options || [] };
      case "users_select": return { type: e.type, selected_user: e.initial_user ?? null };
      default: return { type: e.type, selected_option: e.initial_option ?? null };
    }
  }
  function modalValue(bid, e) {
    const values = S.modal.values;
    values[bid] = values[bid] || {};
    if (!values[bid][e.action_id]) values[bid][e.action_id] = initialValue(e);
    return values[bid][e.action_id];
  }
  // An element changed: in a modal, keep its state (and tell the app when Slack would); elsewhere, tell the app.
  function changed(e, ctx, bid, state) {
    if (ctx.where === "modal") {
      S.modal.values[bid] = S.modal.values[bid] || {};
      S.modal.values[bid][e.action_id] = state;
      const dispatch = ctx.input ? ctx.input.dispatch_action : true;
      if (!dispatch) return;
    }
    sendAction(ctx, bid, e, state);
  }
  const optionsOf = (e) => e.options || (e.option_groups || []).flatMap((g) => g.options || []);
  const sameOption = (a, b) => a && b && a.value === b.value;

  function renderElement(e, ctx, bid) {
    const inModal = ctx.where === "modal";
    const current = inModal && e.action_id ? modalValue(bid, e) : initialValue(e);
    const data = { actionId: e.action_id || "", type: e.type };
    switch (e.type) {
      case "button": {
        const cls = "btn" + (e.style ? " " + e.style : "");
        return el("button", { class: cls, type: "button", data, on: { click: () => {
          if (e.url) window.open(e.url, "_blank", "noopener");
          const go = () => sendAction(ctx, bid, e, { type: "button", value: e.value, text: e.text });
          if (e.confirm) confirmDialog(e.confirm, go); else if (e.action_id) go();
        } } }, plainText(e.text));
      }
      case "static_select": case "users_select": case "conversations_select": case "channels_select": {
        const options = e.type === "static_select" ? null : userOrChannelOptions(e.type);
        const select = el("select", { data, on: { change: () => {
          const opt = JSON.parse(select.value);
          const state = e.type === "users_select" ? { type: e.type, selected_user: opt.value }
            : { type: e.type, selected_option: opt };
          if (e.confirm) confirmDialog(e.confirm, () => changed(e, ctx, bid, state)); else changed(e, ctx, bid, state);
        } } }, el("option", { value: "", disabled: true, selected: true }, plainText(e.placeholder) || "Select"));
        const add = (parent, opt) => {
          const selected = sameOption(current.selected_option, opt) || current.selected_user === opt.value;
          parent.append(el("option", { value: JSON.stringify(opt), selected }, plainText(opt.text)));
        };
        if (options) options.forEach((o) => add(select, o));
        else if (e.option_groups) e.option_groups.forEach((g) => {
          const group = el("optgroup", { label: plainText(g.label) }); select.append(group);
          (g.options || []).forEach((o) => add(group, o));
        });
        else (e.options || []).forEach((o) => add(select, o));
        return select;
      }
      case "multi_static_select": {
        const select = el("select", { multiple: true, data, size: Math.min(6, optionsOf(e).length || 1), on: {
          change: () => changed(e, ctx, bid, { type: e.type, selected_options:
            [...select.selectedOptions].map((o) => JSON.parse(o.value)) }) } });
        optionsOf(e).forEach((o) => select.append(el("option", { value: JSON.stringify(o),
          selected: (current.selected_options || []).some((s) => sameOption(s, o)) }, plainText(o.text))));
        return select;
      }
      case "external_select": return externalSelect(e, ctx, bid, current, data);
      case "overflow": {
        const menu = el("ul", { hidden: true });
        (e.options || []).forEach((o) => menu.append(el("li", { on: { click: () => {
          menu.hidden = true;
          sendAction(ctx, bid, e, { type: "overflow", selected_option: o });
        } } }, plainText(o.text))));
        return el("span", { class: "overflow", data }, el("button", { class: "btn", type: "button",
          on: { click: () => { menu.hidden = !menu.hidden; } } }, "⋮"), menu);
      }
      case "datepicker": case "timepicker": {
        const isDate = e.type === "datepicker";
        const input = el("input", { type: isDate ? "date" : "time", data,
          value: (isDate ? current.selected_date : current.selected_time) || "", on: { change: () => {
            const v = input.value || null;
            changed(e, ctx, bid, isDate ? { type: e.type, selected_date: v } : { type: e.type, selected_time: v });
          } } });
        return input;
      }
      case "plain_text_input": case "number_input": case "email_text_input": case "url_text_input": {
        const attrs = { data, placeholder: plainText(e.placeholder) || null, maxlength: e.max_length || null };
        const input = e.multiline ? el("textarea", attrs)
          : el("input", { ...attrs, type: e.type === "number_input" ? "number" : "text" });
        input.value = current.value || "";
        const update = () => { current.value = input.value === "" ? null : input.value; };
        input.addEventListener("input", update);
        input.addEventListener("change", () => { update(); if (!inModal || (ctx.input && ctx.input.dispatch_action)) changed(e, ctx, bid, { type: e.type, value: current.value }); });
        return input;
      }
      case "checkboxes": case "radio_buttons": {
        const multi = e.type === "checkboxes";
        const name = `${bid}/${e.action_id}`;
        const box = el("div", { data });
        (e.options || []).forEach((o) => {
          const checked = multi ? (current.selected_options || []).some((s) => sameOption(s, o))
            : sameOption(current.selected_option, o);
          const input = el("input", { type: multi ? "checkbox" : "radio", name, checked, on: { change: () => {
            const picked = [...box.querySelectorAll("input")].map((i, k) => (i.checked ? e.options[k] : null))
              .filter(Boolean);
            changed(e, ctx, bid, multi ? { type: e.type, selected_options: picked }
              : { type: e.type, selected_option: picked[0] || null });
          } } });
          box.append(el("label", { class: "choice" }, input, " ", textObject(o.text),
            o.description ? el("span", { class: "description" }, textObject(o.description)) : null));
        });
        return box;
      }
      case "file_input": return el("div", { data }, el("input", { type: "file", disabled: true }),
        el("div", { class: "hint-text" }, "File uploads are not sent by the playground."));
      case "image": return imagePlaceholder(e, true);
      default: return el("span", { class: "block unknown" }, `[${e.type} element is not shown by the playground]`);
    }
  }
  function userOrChannelOptions(type) {
    const st = S.state || {};
    return type === "users_select"
      ? (st.people || []).map((p) => ({ text: { type: "plain_text", text: p.name }, value: p.id }))
      : (st.channels || []).map((c) => ({ text: { type: "plain_text", text: "#" + c.name }, value: c.id }));
  }
  // An external select asks the app for its options (block_suggestion) as you type.
  function externalSelect(e, ctx, bid, current, data) {
    const input = el("input", { type: "text", data, placeholder: plainText(e.placeholder) || "Search",
      value: current.selected_option ? plainText(current.selected_option.text) : "" });
    const list = el("ul", { hidden: true });
    const box = el("div", { class: "combo" }, input, list);
    let asked = 0;
    const ask = async () => {
      const n = ++asked;
      if (input.value.length < (e.min_query_length ?? 3)) { list.hidden = true; return; }
      const answer = await post("/api/options", { view_id: ctx.view_id, action_id: e.action_id, block_id: bid,
        value: input.value, values: S.modal.values });
      if (n !== asked) return;
      const body = (answer && answer.body) || {};
      const options = body.options || (body.option_groups || []).flatMap((g) => g.options || []);
      list.replaceChildren(...(options.length ? options.map((o) => el("li", { data: { value: o.value },
        on: { mousedown: (ev) => { ev.preventDefault(); pick(o); } } }, plainText(o.text)))
        : [el("li", { class: "empty" }, "No matches")]));
      list.hidden = false;
    };
    const pick = (o) => {
      input.value = plainText(o.text);
      list.hidden = true;
      changed(e, ctx, bid, { type: e.type, selected_option: o });
    };
    input.addEventListener("focus", ask);
    input.addEventListener("input", ask);
    input.addEventListener("blur", () => setTimeout(() => { list.hidden = true; }, 150));
    return box;
  }

  // --- talking to the playground server ------------------------------------------------------------------
  async function post(path, body) {
    try {
      const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user: S.me, ...body }) });
      const data = await res.json();
      if (!res.ok || data.ok === false) toast(data.error || `The app answered HTTP ${data.status || res.status}`);
      setTimeout(poll, 150);
      return data;
    } catch (err) {
      toast("The playground server is not answering: " + err);
      return null;
    }
  }
  function sendAction(ctx, bid, e, element) {
    return post("/api/action", { where: ctx.where, channel: ctx.channel, message_ts: ctx.message_ts,
      view_id: ctx.view_id, values: ctx.where === "modal" ? S.modal.values : undefined,
      action_id: e.action_id, block_id: bid || "b", element });
  }
  let toastTimer = null;
  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  // --- confirm dialogs and modals ------------------------------------------------------------------------
  function confirmDialog(c, onConfirm) {
    const overlay = $("confirm-overlay");
    const close = () => { overlay.hidden = true; overlay.replaceChildren(); };
    const yes = c.style === "danger" ? "btn danger solid" : "btn primary";
    overlay.replaceChildren(el("div", { class: "modal confirm", role: "dialog" },
      el("header", {}, el("h2", {}, plainText(c.title) || "Are you sure?")),
      el("div", { class: "confirm-text" }, textObject(c.text)),
      el("footer", {},
        el("button", { class: "btn", type: "button", data: { testid: "confirm-deny" }, on: { click: close } },
          plainText(c.deny) || "Cancel"),
        el("button", { class: yes, type: "button", data: { testid: "confirm-yes" },
          on: { click: () => { close(); onConfirm(); } } }, plainText(c.confirm) || "Yes"))));
    overlay.hidden = false;
  }
  function isEmpty(v) {
    if (!v) return true;
    if ("selected_options" in v) return !v.selected_options.length;
    return ["value", "selected_option", "selected_date", "selected_time", "selected_user"]
      .every((k) => v[k] === null || v[k] === undefined || v[k] === "");
  }
  function renderModal(view) {
    const overlay = $("overlay");
    if (!view) {
      S.modal = { id: null, key: null, values: {} };
      overlay.hidden = true; overlay.replaceChildren();
      return;
    }
    const key = `${view.id}/${view.hash}/${JSON.stringify(view.errors || {})}`;
    if (key === S.modal.key) return; // unchanged: keep what is being typed (and the focus)
    if (view.id !== S.modal.id) S.modal.values = {};
    S.modal.id = view.id; S.modal.key = key;
    const errors = { ...(view.errors || {}) };
    const ctx = { where: "modal", view_id: view.id, errors };
    const body = el("div", { class: "modal-body" }, renderBlocks(view.blocks, ctx));
    const submit = async () => {
      const missing = {};
      for (const b of view.blocks || []) {
        if (b.type !== "input" || b.optional || !b.element || !b.element.action_id) continue;
        if (isEmpty((S.modal.values[b.block_id] || {})[b.element.action_id])) missing[b.block_id] = "Please complete this required field.";
      }
      if (Object.keys(missing).length) { // Slack checks required fields before sending anything
        body.replaceChildren(renderBlocks(view.blocks, { ...ctx, errors: missing }));
        return;
      }
      await post("/api/submit", { view_id: view.id, values: S.modal.values });
    };
    const close = () => post("/api/close", { view_id: view.id });
    overlay.replaceChildren(el("div", { class: "modal", role: "dialog", data: { testid: "modal",
      callbackId: view.callback_id || "" } },
    el("header", {}, el("h2", { data: { testid: "modal-title" } }, plainText(view.title)),
      el("button", { class: "icon", type: "button", title: "Close", on: { click: close } }, "×")),
    body,
    el("footer", {},
      el("button", { class: "btn", type: "button", data: { testid: "modal-close" }, on: { click: close } },
        plainText(view.close) || "Cancel"),
      view.submit ? el("button", { class: "btn primary", type: "button", data: { testid: "modal-submit" },
        on: { click: submit } }, plainText(view.submit)) : null)));
    overlay.hidden = false;
  }

  // --- messages, threads, Home ---------------------------------------------------------------------------
  const COLORS = ["#e8912d", "#2bac76", "#1264a3", "#e01e5a", "#4a154b", "#36c5f0"];
  function avatar(id, name) {
    const color = id === S.state.bot ? "#4a154b" : COLORS[[...id].reduce((a, c) => a + c.charCodeAt(0), 0) % 6];
    return el("div", { class: "avatar", style: `background:${color}` }, id === S.state.bot ? "🤖" : (name || "?")[0].toUpperCase());
  }
  const timeOf = (ts) => clock(new Date(Number(ts) * 1000), false);
  function sizeOf(n) { return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} kB`; }

  function renderMessage(m, inThread) {
    const name = names()[m.user] || m.user;
    const isBot = m.user === S.state.bot;
    const ctx = { where: "message", channel: m.channel, message_ts: m.ts };
    const content = el("div", { class: "content" },
      el("div", { class: "meta" }, el("span", { class: "author" }, name), isBot ? el("span", { class: "app-badge" }, "APP") : null,
        el("span", { class: "time", title: m.ts }, timeOf(m.ts)), m.edited ? el("span", { class: "edited" }, "(edited)") : null),
      m.ephemeral ? el("div", { class: "ephemeral-note" }, "👁 Only visible to you") : null,
      m.blocks && m.blocks.length ? renderBlocks(m.blocks, ctx) : mrkdwn(m.text));
    for (const f of m.files || []) {
      content.append(el("div", { class: "file", data: { testid: "file", fileId: f.id } },
        el("span", { class: "file-icon" }, "📄"),
        el("div", {}, el("div", { class: "file-name" }, f.title), el("div", { class: "file-meta" }, `${f.name} · ${sizeOf(f.size)}`)),
        el("a", { href: f.url, download: f.name, class: "btn", data: { testid: "file-download" } }, "Download")));
    }
    if (!inThread) {
      const replies = S.state.messages.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts && r.channel === m.channel);
      if (replies.length) {
        content.append(el("span", { class: "thread-link", data: { testid: "thread-link" },
          on: { click: () => { S.thread = { channel: m.channel, ts: m.ts }; render(); } } },
        `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
      }
    }
    return el("div", { class: "message" + (m.ephemeral ? " ephemeral" : ""), data: { testid: "message", ts: m.ts,
      user: m.user } }, avatar(m.user, name), content);
  }

  function renderMessages() {
    const box = $("messages");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    const top = S.state.messages.filter((m) => m.channel === S.place && (!m.thread_ts || m.thread_ts === m.ts));
    box.replaceChildren(...(top.length ? top.map((m) => renderMessage(m, false))
      : [el("div", { class: "empty-note" }, "No messages yet. Type /nce help below.")]));
    if (nearBottom || !renderMessages.done) box.scrollTop = box.scrollHeight;
    renderMessages.done = true;
  }
  function renderThread() {
    const pane = $("thread");
    if (!S.thread) { pane.hidden = true; return; }
    const all = S.state.messages.filter((m) => m.channel === S.thread.channel);
    const parent = all.find((m) => m.ts === S.thread.ts);
    const replies = all.filter((m) => m.thread_ts === S.thread.ts && m.ts !== S.thread.ts);
    $("thread-messages").replaceChildren(parent ? renderMessage(parent, true) : el("div"),
      el("div", { class: "thread-count" }, `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`),
      ...replies.map((m) => renderMessage(m, true)));
    pane.hidden = false;
  }
  function renderHome() {
    const home = S.state.home;
    $("home").replaceChildren(home ? renderBlocks(home.blocks, { where: "home" })
      : el("div", { class: "empty-note" }, "Loading the Home tab…"));
  }

  function render() {
    const st = S.state;
    const who = $("who");
    if (who.options.length !== st.people.length) {
      who.replaceChildren(...st.people.map((p) => el("option", { value: p.id }, `${p.name}`)));
    }
    who.value = S.me;
    const me = st.people.find((p) => p.id === S.me);
    $("role").textContent = me ? me.role : "";
    const place = (id, label, testid) => el("li", { class: S.place === id ? "active" : "", data: { testid, place: id },
      on: { click: () => go(id) } }, label);
    $("channel-list").replaceChildren(...st.channels.map((c) => place(c.id, "# " + c.name, "channel")));
    $("app-list").replaceChildren(place("home", "🤖 ncebot", "app"));
    const inApp = S.place === "home" || S.place === st.dm;
    $("tabs").hidden = !inApp;
    $("tab-home").classList.toggle("active", S.place === "home");
    $("tab-messages").classList.toggle("active", S.place === st.dm);
    const channel = st.channels.find((c) => c.id === S.place);
    $("title").textContent = inApp ? "ncebot" : "# " + (channel ? channel.name : S.place);
    $("home").hidden = S.place !== "home";
    $("messages").hidden = S.place === "home";
    $("composer").hidden = S.place === "home";
    $("composer-input").placeholder = inApp ? "Message ncebot" : `Message #${channel ? channel.name : ""}`;
    if (S.place === "home") renderHome(); else renderMessages();
    renderThread();
    renderModal(st.modal);
  }

  function go(place) {
    S.place = place;
    S.thread = null;
    const url = new URL(location.href);
    url.searchParams.set("user", S.me);
    url.searchParams.set("channel", place);
    history.replaceState(null, "", url);
    if (place === "home") post("/api/home", {}); // Slack sends app_home_opened each time the tab is opened
    if (S.state) render();
  }

  async function poll() {
    if (!S.me) return;
    try {
      const res = await fetch(`/api/state?user=${encodeURIComponent(S.me)}&rev=${encodeURIComponent(S.rev || "")}`);
      const data = await res.json();
      if (data.same || data.rev === S.rev || !res.ok) return;
      S.state = data; S.rev = data.rev;
      if (!S.place) go(data.default_channel); else render();
      document.body.dataset.rev = data.rev;
    } catch (err) { /* the next poll retries */ }
  }

  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const channel = S.place === "home" ? S.state.dm : S.place;
    const answer = await post("/api/command", { channel, text });
    if (answer && answer.body && answer.body.text) toast(answer.body.text);
  });
  $("who").addEventListener("change", () => {
    S.me = $("who").value; S.rev = null; S.modal = { id: null, key: null, values: {} };
    go(S.place === S.state.dm ? "D" + S.me.slice(1) : S.place);
    poll();
  });
  $("thread-close").addEventListener("click", () => { S.thread = null; render(); });
  // Like Slack, a field's error goes away once the field is edited.
  for (const type of ["input", "change"]) {
    $("overlay").addEventListener(type, (ev) => {
      const block = ev.target.closest && ev.target.closest(".input-block.has-error");
      if (!block) return;
      block.classList.remove("has-error");
      block.querySelectorAll(".error-text").forEach((n) => n.remove());
    });
  }
  $("tab-home").addEventListener("click", () => go("home"));
  $("tab-messages").addEventListener("click", () => go(S.state.dm));

  async function start() {
    const params = new URLSearchParams(location.search);
    const first = await (await fetch("/api/state" + (params.get("user") ? `?user=${encodeURIComponent(params.get("user"))}` : ""))).json();
    S.me = first.me || first.people[0].id;
    S.state = first; S.rev = first.rev;
    go(params.get("channel") || first.default_channel);
    render();
    document.body.dataset.rev = first.rev;
    S.polling = setInterval(poll, 400);
  }
  // For tests and curious people: render any blocks the way the page does.
  window.ncePlayground = { renderBlocks: (blocks) => renderBlocks(blocks, { where: "message" }), mrkdwn, state: () => S };
  start();
})();
