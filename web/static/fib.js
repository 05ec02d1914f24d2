// fib.js improves the page's GET form: it asks /api/v1/fib/<n> without a
// reload, wraps the value, counts its digits, offers copy and download, and
// follows a queued n with a progress bar until it is done.  Without
// JavaScript the form works as it is (the server renders /?n=...).
"use strict";

(function () {
  const form = document.getElementById("fib-form");
  const input = document.getElementById("n");
  const result = document.getElementById("result");
  let polling = null;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Thousands separators on a decimal string: digit counts can exceed 2^53,
  // where Number() would round them.
  function grouped(digits) {
    return String(digits).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function show(...nodes) {
    result.replaceChildren(...nodes);
  }

  function showProblem(problem) {
    const box = el("div", { class: "problem", role: "alert" });
    box.append(el("h2", {}, problem.title || "Error"),
               el("p", { id: "problem-detail" }, problem.detail || "The request failed."));
    if (problem.error) {
      box.append(el("p", { id: "problem-error" }, "It ended with: " + problem.error));
    }
    show(box);
  }

  function showValue(body) {
    const digits = grouped(body.digits);
    const heading = el("h2", {}, "F(" + body.n + ")");
    const count = el("p", {});
    count.append(el("span", { id: "digit-count" }, digits), " digits" +
      (body.negative ? ", negative" : "") +
      (body.source === "memo" ? ", from the memo." : ", computed now."));
    const nodes = [heading, count];
    const download = el("a", { id: "download", href: "/api/v1/fib/" + body.n + "/digits", download: "" },
                        "Download all digits");
    const actions = el("p", {});
    if (body.value !== undefined) {
      const value = el("pre", { id: "value", class: "value", tabindex: "0" }, body.value);
      const copy = el("button", { type: "button", id: "copy" }, "Copy value");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(body.value);
          copy.textContent = "Copied";
        } catch (e) {
          copy.textContent = "Copy failed: select the value instead";
        }
      });
      actions.append(copy, " ", download);
      nodes.push(value, actions);
    } else {
      const p = el("p", {}, "Too long to show here: it starts ");
      p.append(el("code", {}, body.leading), " and ends ", el("code", {}, body.trailing), ".");
      actions.append(download);
      nodes.push(p, actions);
    }
    show(...nodes);
  }

  // An n beyond the server's limit: the refusal, and what is known of F(n).
  async function showProblemAbout(problem) {
    showProblem(problem);
    try {
      const [status, about] = await getJSON(problem.about);
      if (status !== 200) return;
      const p = el("p", { id: "about" });
      p.append(el("span", { id: "digit-count" }, grouped(about.digits)),
               " digits" + (about.negative ? ", negative" : "") + ": it starts ",
               el("code", { id: "leading" }, about.leading), " and ends ",
               el("code", { id: "trailing" }, about.trailing), ".");
      result.append(el("h2", {}, "What is known of F(" + about.n + ")"), p);
    } catch (e) {
      // the refusal alone is still true
    }
  }

  function showJob(job) {
    const percent = Math.round((job.progress || 0) * 100) + "%";
    const bar = el("progress", { id: "progress", max: "1", value: String(job.progress || 0),
                                 "aria-labelledby": "progress-label" });
    bar.textContent = percent;
    const p = el("p", { id: "progress-label" }, "It is " + job.state + ": ");
    p.append(el("span", { id: "progress-text" }, percent), bar);
    show(el("h2", {}, "F(" + job.n + ") is being computed"), p);
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = { title: "Error " + response.status, detail: "The server's answer was not JSON." };
    }
    return [response.status, body];
  }

  async function ask(n) {
    if (polling) clearTimeout(polling);
    result.setAttribute("aria-busy", "true");
    try {
      const [status, body] = await getJSON("/api/v1/fib/" + encodeURIComponent(n));
      if (status === 200) showValue(body);
      else if (status === 202) { showJob(body); poll(n); }
      else if (body.about) await showProblemAbout(body);
      else showProblem(body);
    } catch (e) {
      showProblem({ title: "Network error", detail: "The server could not be reached." });
    } finally {
      result.removeAttribute("aria-busy");
    }
  }

  function poll(n) {
    polling = setTimeout(async () => {
      try {
        const [status, job] = await getJSON("/api/v1/fib/" + encodeURIComponent(n) + "/job");
        if (status !== 200) { showProblem(job); return; }
        if (job.state === "done") { ask(n); return; }
        if (job.state === "failed") { ask(n); return; }
        const bar = document.getElementById("progress");
        const percent = Math.round(job.progress * 100) + "%";
        if (bar) { bar.value = job.progress; bar.textContent = percent; }
        const text = document.getElementById("progress-text");
        if (text) text.textContent = percent;
        const label = document.getElementById("progress-label");
        if (label && label.firstChild) label.firstChild.textContent = "It is " + job.state + ": ";
        poll(n);
      } catch (e) {
        poll(n);
      }
    }, 500);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const n = input.value.trim();
    history.replaceState(null, "", "?n=" + encodeURIComponent(n));
    ask(n);
  });

  // A queued n rendered by the server: follow it.
  if (document.getElementById("progress") && input.value) poll(input.value);
})();
