// fib.js improves the page's GET form: it asks /api/v1/fib/<n> without a
// reload and builds the same states the server renders (web/templates/
// index.html: a value, a job with its progress, a problem), then gives every
// value, the server's or its own, the same extras (a Copy button).  Each
// answer gets a history entry, so Back and Forward move between results.
// A live region (#status) says a short summary of each change ("F(32) has 7
// digits."), and the progress of a job at most every few seconds.  Without
// JavaScript the form works as it is (the server renders /?n=...).
"use strict";

(function () {
  const form = document.getElementById("fib-form");
  const input = document.getElementById("n");
  const result = document.getElementById("result");
  const status = document.getElementById("status");
  const HELP = "n-help";
  const POLL_MS = 500;
  // A job's progress is said at most this often.
  const ANNOUNCE_MS = 5000;
  // "Copied" goes back to "Copy value" after this long.
  const COPIED_MS = 2000;
  const DEFAULT_TITLE = "pg_fib: Fibonacci numbers, exactly";

  let polling = null;
  // Each question gets a number; an answer to an older one is dropped.
  let asked = 0;
  let lastProgressAnnounced = 0;
  let lastProgress = "";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    node.append(...children);
    return node;
  }

  // The nodes of digitGroups() as one fragment: a value's tens of thousands
  // of groups are too many to pass as arguments.
  function fragment(nodes) {
    const f = document.createDocumentFragment();
    for (const node of nodes) f.append(node);
    return f;
  }

  // Thousands separators on a decimal string: digit counts can exceed 2^53,
  // where Number() would round them.
  function grouped(digits) {
    return String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  // The digits of text in groups of three, every other one in a <span>
  // that fib.css spaces from its neighbours with generated spaces; no
  // character is added, so a copy is the number itself.  first: the length of the first group (for
  // the leading digits of a longer number); by default the groups end at
  // the last digit.  web/page.py's digit_groups() builds the same.
  function digitGroups(text, first) {
    const sign = text.startsWith("-") ? "-" : "";
    const digits = text.slice(sign.length);
    if (first === undefined) first = digits.length % 3 || 3;
    const nodes = [];
    let group = digits.slice(0, first);
    for (let i = first, index = 0; ; i += 3, index++) {
      if (index === 0) nodes.push(sign + group);
      else if (index % 2) nodes.push(el("span", {}, group));
      else nodes.push(group);
      if (i >= digits.length) break;
      group = digits.slice(i, i + 3);
    }
    return nodes;
  }

  // The length of the first group of the leading digits of a number of
  // `digits` digits: digits mod 3, or 3.  The count is a decimal string
  // that can exceed 2^53; since 10 is 1 mod 3, it is the sum of its digits
  // mod 3.
  function leadingGroup(digits) {
    return [...String(digits)].reduce((sum, d) => sum + Number(d), 0) % 3 || 3;
  }

  // What screen readers say: a short sentence, never the value.  The same
  // text twice is changed a little, so that it is said again.
  function announce(text) {
    if (status.textContent === text) text += "\u00a0";
    status.textContent = text;
  }

  function setTitle(text) {
    document.title = text ? text + " · pg_fib" : DEFAULT_TITLE;
  }

  // A problem with n itself marks the field invalid and is read with it.
  function markInput(invalid) {
    if (invalid) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", HELP + " problem-detail");
    } else {
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", HELP);
    }
  }

  function show(...nodes) {
    result.replaceChildren(...nodes);
    enhance();
  }

  function problemNodes(problem) {
    const box = el("div", { class: "problem" },
                   el("h2", {}, problem.title || "Error"),
                   el("p", { id: "problem-detail" }, problem.detail || "The request failed."));
    if (problem.error) {
      box.append(el("p", { id: "problem-error" }, "It ended with: " + problem.error));
    }
    return box;
  }

  function showProblem(problem) {
    const invalid = problem.status >= 400 && problem.status < 500;
    markInput(invalid);
    setTitle("Error: " + (problem.title || "Error"));
    show(problemNodes(problem));
    announce((problem.title || "Error") + ": " + (problem.detail || "The request failed."));
  }

  function showValue(body) {
    markInput(false);
    setTitle("F(" + body.n + ")");
    const nodes = [
      el("h2", { id: "result-heading" }, "F(" + body.n + ")"),
      el("p", {}, el("span", { id: "digit-count" }, grouped(body.digits)),
         " digits" + (body.negative ? ", negative" : "") +
         (body.source === "memo" ? ", from the memo." : ", computed now.")),
    ];
    if (body.value !== undefined) {
      nodes.push(el("pre", { id: "value", class: "value", tabindex: "0", role: "region",
                             "aria-labelledby": "result-heading" },
                    fragment(digitGroups(body.value))));
    } else {
      nodes.push(el("p", { id: "too-long" }, "Too long to show here: it starts ",
                    el("code", { id: "leading" }, ...digitGroups(body.leading,
                                                                 leadingGroup(body.digits))),
                    " and ends ", el("code", { id: "trailing" }, ...digitGroups(body.trailing)),
                    "."));
    }
    nodes.push(el("p", { class: "actions" },
                  el("a", { id: "download", href: "/api/v1/fib/" + body.n + "/digits",
                            download: "" }, "Download all digits")));
    show(...nodes);
    announce("F(" + body.n + ") has " + grouped(body.digits) + " digits" +
             (body.negative ? ", negative." : "."));
  }

  // An n beyond the server's limit: the refusal, and what is known of F(n).
  async function showProblemAbout(problem, question) {
    let about = null;
    try {
      const [code, body] = await getJSON(problem.about);
      if (code === 200) about = body;
    } catch (e) {
      // the refusal alone is still true
    }
    if (question !== asked) return;
    showProblem(problem);
    if (about === null) return;
    result.append(
      el("h2", {}, "What is known of F(" + about.n + ")"),
      el("p", { id: "about" }, el("span", { id: "digit-count" }, grouped(about.digits)),
         " digits" + (about.negative ? ", negative" : "") + ": it starts ",
         el("code", { id: "leading" }, ...digitGroups(about.leading, leadingGroup(about.digits))),
         " and ends ", el("code", { id: "trailing" }, ...digitGroups(about.trailing)), "."));
  }

  function percent(progress) {
    return Math.round((progress || 0) * 100) + "%";
  }

  function showJob(job) {
    markInput(false);
    setTitle("F(" + job.n + ")");
    const text = percent(job.progress);
    show(el("h2", {}, "F(" + job.n + ") is being computed"),
         el("p", { id: "progress-label" }, "It is " + job.state + ": ",
            el("span", { id: "progress-text" }, text)),
         el("progress", { id: "progress", max: "1", value: String(job.progress || 0),
                          "aria-labelledby": "progress-label" }, text));
    announceProgress(job, true);
  }

  // The job's state and progress, said when it is new, and then when it
  // has changed and the last time is ANNOUNCE_MS ago; the bar itself
  // follows every poll.
  function announceProgress(job, now) {
    const text = "F(" + job.n + ") is " + job.state + ": " + percent(job.progress) + ".";
    const time = Date.now();
    if (!now && (text === lastProgress || time - lastProgressAnnounced < ANNOUNCE_MS)) return;
    lastProgressAnnounced = time;
    lastProgress = text;
    announce(text);
  }

  function showEmpty() {
    markInput(false);
    setTitle("");
    show();
    announce("");
  }

  // What every shown value gets, rendered by the server or here: a Copy
  // button that copies the digits without the groups' spacing.
  function enhance() {
    const value = document.getElementById("value");
    const actions = result.querySelector(".actions");
    if (!value || !actions || document.getElementById("copy")) return;
    const copy = el("button", { type: "button", id: "copy" }, "Copy value");
    let reset = null;
    copy.addEventListener("click", async () => {
      clearTimeout(reset);
      try {
        await navigator.clipboard.writeText(value.textContent);
        copy.textContent = "Copied";
        announce("Copied the value of " + document.getElementById("result-heading").textContent +
                 ".");
      } catch (e) {
        copy.textContent = "Copy failed: select the value instead";
      }
      reset = setTimeout(() => { copy.textContent = "Copy value"; }, COPIED_MS);
    });
    actions.prepend(copy, " ");
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = { title: "Error " + response.status, status: response.status,
               detail: "The server's answer was not JSON." };
    }
    return [response.status, body];
  }

  // Ask for F(n) and show the answer (nothing shown when another question
  // came meanwhile).
  async function ask(n) {
    clearTimeout(polling);
    const question = ++asked;
    if (n === "") {
      // The one check made here; the server's detail names what else is
      // wrong with an n (as /?n= says this one).
      showProblem({ title: "Malformed n", status: 400,
                    detail: "n is empty; n must be an optional '-' and 1 to 19 ASCII digits, " +
                            "such as 32 or -8." });
      return;
    }
    let code, body;
    try {
      [code, body] = await getJSON("/api/v1/fib/" + encodeURIComponent(n));
    } catch (e) {
      code = 0;
      body = { title: "Network error", status: 0, detail: "The server could not be reached." };
    }
    if (question !== asked) return;
    if (code === 200) showValue(body);
    else if (code === 202) { showJob(body); poll(n, question); }
    else if (body.about) await showProblemAbout(body, question);
    else showProblem(body);
  }

  function poll(n, question) {
    polling = setTimeout(async () => {
      try {
        const [code, job] = await getJSON("/api/v1/fib/" + encodeURIComponent(n) + "/job");
        if (question !== asked) return;
        if (code !== 200) { showProblem(job); return; }
        if (job.state === "done" || job.state === "failed") { ask(n); return; }
        const bar = document.getElementById("progress");
        const text = percent(job.progress);
        if (bar) { bar.value = job.progress; bar.textContent = text; }
        const span = document.getElementById("progress-text");
        if (span) span.textContent = text;
        const label = document.getElementById("progress-label");
        if (label && label.firstChild) label.firstChild.textContent = "It is " + job.state + ": ";
        announceProgress(job, false);
        poll(n, question);
      } catch (e) {
        if (question === asked) poll(n, question);
      }
    }, POLL_MS);
  }

  // The n of this history entry (null: the empty form).
  function entryN() {
    return new URLSearchParams(location.search).get("n");
  }

  form.noValidate = true;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = input.value.trim();
    const url = "?n=" + encodeURIComponent(n);
    // A new entry for a new question; asking the same again replaces it.
    if (entryN() === n) history.replaceState(null, "", url);
    else history.pushState(null, "", url);
    ask(n);
  });

  // Back and Forward: show the entry's result (its answers are cached).
  window.addEventListener("popstate", () => {
    const n = entryN();
    input.value = n === null ? "" : n;
    if (n === null) {
      clearTimeout(polling);
      asked++;
      showEmpty();
    } else {
      ask(n);
    }
  });

  // What the server rendered gets what this script gives its own results;
  // a job it rendered is followed.
  enhance();
  const n = entryN();
  if (document.getElementById("progress") && n !== null) poll(n, asked);
})();
