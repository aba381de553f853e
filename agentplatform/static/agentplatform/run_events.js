// The run page's event list: replays the run's log from the start, then polls for new entries while the run is
// in flight (the admin's JSON endpoint reads the log server-side, with the admin session). No dependencies.
"use strict";
(function () {
  const section = document.getElementById("run-events");
  if (!section) return;
  const body = document.getElementById("run-events-body");
  const note = document.getElementById("run-events-note");
  const live = document.getElementById("run-events-live");
  const status = document.getElementById("run-status");
  const POLL_MS = 1000;
  const startedInFlight = status && ["pending", "running"].includes(status.dataset.status);
  let cursor = "0-0";
  let count = 0;

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  function addRow(event) {
    const row = document.createElement("tr");
    row.dataset.event = event.event;
    for (const [cls, text] of [["event-id", event.id], ["event-name", event.event]]) {
      const cell = document.createElement("td");
      cell.className = cls;
      cell.textContent = text;  // textContent: what a graph wrote is never markup
      row.appendChild(cell);
    }
    const cell = document.createElement("td");
    const pre = document.createElement("pre");
    pre.textContent = pretty(event.data);
    cell.appendChild(pre);
    row.appendChild(cell);
    body.appendChild(row);
    count += 1;
  }

  function showStatus(value) {
    if (status && status.textContent !== value) {
      status.textContent = value;
      status.dataset.status = value;
    }
  }

  async function poll() {
    let data;
    try {
      const response = await fetch(section.dataset.url + "?after=" + encodeURIComponent(cursor),
        { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      data = await response.json();
    } catch (error) {
      note.textContent = "Could not read the events (" + error.message + "); retrying.";
      setTimeout(poll, POLL_MS * 3);
      return;
    }
    data.events.forEach(addRow);
    cursor = data.cursor;
    showStatus(data.status);
    if (data.finished) {
      live.textContent = "ended";
      live.classList.add("stopped");
      note.textContent = count ? count + " events, replayed from the run's log." :
        "The run's event log is empty or has expired (logs are kept a while after a run ends); its output and error are above.";
      note.dataset.finished = "true";
      if (startedInFlight && !["pending", "running"].includes(data.status)) {
        // Nothing is left to cancel; the fields above still show the run as it was when the page loaded.
        document.querySelectorAll("#cancel-interrupt, #cancel-rollback").forEach((button) => { button.hidden = true; });
        const reload = document.createElement("a");
        reload.href = window.location.pathname;
        reload.id = "run-reload";
        reload.textContent = " The run ended: reload the page for its output.";
        note.appendChild(reload);
      }
      return;
    }
    live.textContent = "live";
    live.classList.remove("stopped");
    note.textContent = count + " events so far; following the run.";
    setTimeout(poll, data.more ? 0 : POLL_MS);
  }

  poll();
})();
