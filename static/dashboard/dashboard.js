// Live sessions dashboard: a snapshot on connect, then numbered updates; a gap in the
// numbers or a dropped socket leads to a fresh snapshot.
(function () {
  "use strict";
  const root = document.getElementById("pw-dashboard");
  const COLOURS = {
    normal: "#2e7d32", server_shutdown: "#607d8b", heartbeat_timeout: "#c62828",
    session_replace: "#6a1b9a", launcher_timeout: "#ef6c00", launcher_closed: "#f9a825",
    charge_exhausted: "#1565c0", operator: "#d81b60",
  };
  const TIME_ZONE = root.dataset.timeZone || "UTC";
  let canEnd = false;
  const charts = {};
  let socket = null;
  let lastSeq = null;
  // Replaced by the server's table (its page size included) with the first snapshot.
  let table = { rows: [], page: 1, pages: 1, total: 0, page_size: 1 };
  let query = { search: "", state: "", game: "", cafe: "", reason: "", page: 1 };

  const $ = (id) => document.getElementById(id);
  const text = (value) => document.createTextNode(value === null || value === undefined ? "" : String(value));

  function setConnected(up) {
    const badge = $("pw-conn");
    badge.textContent = up ? "live" : "reconnecting…";
    badge.className = "pw-conn " + (up ? "pw-up" : "pw-down");
  }

  function connect() {
    socket = PWSocket.open(root.dataset.wsPath, {
      onOpen: (s) => { s.settled(); setConnected(true); },
      onMessage: handle,
      onClose: (code) => {
        if (code === PWSocket.CLOSE.FORBIDDEN) {
          // Signed out (or no longer staff): the login page, then back here.
          $("pw-conn").textContent = "signed out — opening the login page…";
          location.assign(root.dataset.loginUrl);
          return false;
        }
        setConnected(false);
        lastSeq = null;
        return true;
      },
    });
  }

  function send(payload) {
    if (socket) socket.send(payload);
  }

  function handle(msg) {
    if (msg.type === "snapshot") {
      lastSeq = msg.seq;
      canEnd = Boolean(msg.can_end);
      renderTotals(msg.totals);
      table = msg.table;
      renderTable();
      renderCharts(msg.charts);
      renderGames(msg.games);
      if (query.search || query.state || query.game || query.cafe || query.reason || query.page > 1) {
        send(Object.assign({ type: "query" }, query));
      }
    } else if (msg.type === "update") {
      if (lastSeq === null || msg.seq <= lastSeq) return;
      if (msg.seq !== lastSeq + 1) { lastSeq = null; send({ type: "resync" }); return; }
      lastSeq = msg.seq;
      renderTotals(msg.totals);
      applyChanges(msg.changed);
      if (msg.charts) renderCharts(msg.charts);
      renderGames(msg.games);
    } else if (msg.type === "table") {
      table = msg.table;
      renderTable();
    } else if (msg.type === "done" || msg.type === "refused") {
      notice(msg.message, msg.type === "refused");
    } else if (msg.type === "error") {
      notice(msg.message, true);
    }
    $("pw-seq").textContent = lastSeq === null ? "" : "update #" + lastSeq;
  }

  function matches(row) {
    if (query.search) return false; // searches are answered by the server only
    if (query.state && row.state !== query.state) return false;
    if (query.game && row.game !== query.game) return false;
    if (query.cafe && String(row.cafe_id) !== String(query.cafe)) return false;
    if (query.reason && row.end_reason !== query.reason) return false;
    return true;
  }

  function applyChanges(changed) {
    let dirty = false;
    for (const row of changed) {
      const index = table.rows.findIndex((r) => r.id === row.id);
      if (index >= 0) {
        if (matches(row) || query.search) table.rows[index] = row;
        else { table.rows.splice(index, 1); table.total -= 1; }
        dirty = true;
      } else if (table.page === 1 && matches(row)) {
        // Rows can arrive out of order (several writers); keep page 1 sorted, newest first.
        table.rows.push(row);
        table.total += 1;
        dirty = true;
      }
    }
    if (dirty) {
      table.pages = Math.max(1, Math.ceil(table.total / table.page_size));
      table.rows.sort((a, b) => (a.started_at < b.started_at ? 1 : a.started_at > b.started_at ? -1 : 0));
      table.rows.length = Math.min(table.rows.length, table.page_size);
      renderTable();
    }
  }

  function fill(tableEl, entries) {
    tableEl.replaceChildren();
    for (const [key, value] of entries) {
      const tr = document.createElement("tr");
      const th = document.createElement("th"); th.appendChild(text(key));
      const td = document.createElement("td"); td.appendChild(text(value));
      tr.append(th, td);
      tableEl.appendChild(tr);
    }
  }

  function renderTotals(totals) {
    fill($("pw-by-state"), Object.entries(totals.by_state));
    $("pw-in-grace").textContent = totals.in_grace;
    fill($("pw-by-game"), Object.entries(totals.active_by_game));
    fill($("pw-by-cafe"), Object.entries(totals.active_by_cafe));
    fill($("pw-by-reason"), Object.entries(totals.ended_last_hour_by_reason));
  }

  function renderTable() {
    const body = $("pw-sessions").querySelector("tbody");
    body.replaceChildren();
    for (const row of table.rows) {
      const tr = document.createElement("tr");
      tr.dataset.session = row.id;
      if (row.state !== "ACTIVE") tr.className = "pw-ended";
      else if (row.in_grace) tr.className = "pw-grace";
      const cells = [row.id, row.game, row.cafe, row.pc_label || row.pc, row.user, row.state,
        row.end_reason, row.play_sec, row.coins, clock(row.last_heartbeat_at)];
      for (const value of cells) {
        const td = document.createElement("td"); td.appendChild(text(value)); tr.appendChild(td);
      }
      tr.lastChild.title = row.last_heartbeat_at.replace("T", " ").slice(0, 19) + " UTC";
      const act = document.createElement("td");
      if (canEnd && row.state === "ACTIVE") {
        act.appendChild(button("End", "end session " + row.id, () => {
          if (confirm("End " + row.id + " now? The game server is told at its next heartbeat.")) {
            send({ type: "session.end", id: row.id });
          }
        }));
      }
      tr.appendChild(act);
      body.appendChild(tr);
    }
    $("pw-page").textContent = "page " + table.page + " of " + table.pages;
    $("pw-total").textContent = "(" + table.total + " sessions)";
    $("pw-prev").disabled = table.page <= 1;
    $("pw-next").disabled = table.page >= table.pages;
  }

  function renderGames(games) {
    const body = $("pw-games").querySelector("tbody");
    body.replaceChildren();
    for (const game of games || []) {
      const tr = document.createElement("tr");
      tr.dataset.code = game.code;
      for (const value of [game.code, game.game, game.status, game.players, game.bots]) {
        const td = document.createElement("td"); td.appendChild(text(value)); tr.appendChild(td);
      }
      const act = document.createElement("td");
      if (canEnd && game.status !== "ended") {
        act.appendChild(button("End game", "end game " + game.code, () => {
          const reason = prompt("End game " + game.code + " for everyone. Reason (recorded):", "");
          if (reason !== null) send({ type: "game.end", code: game.code, reason: reason });
        }));
        for (const p of game.roster || []) {
          act.appendChild(button("Kick " + p.name, "kick " + p.name + " from " + game.code, () => {
            const reason = prompt("Remove " + p.name + " from " + game.code + ". Reason (recorded):", "");
            if (reason !== null) send({ type: "game.kick", code: game.code, player: p.id, reason: reason });
          }));
        }
      }
      tr.appendChild(act);
      body.appendChild(tr);
    }
  }

  function button(label, title, onClick) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "pw-act"; b.textContent = label; b.title = title;
    b.addEventListener("click", onClick);
    return b;
  }

  function notice(message, bad) {
    const el = $("pw-notice");
    el.textContent = message;
    el.className = bad ? "pw-notice pw-bad" : "pw-notice pw-good";
  }

  const timeFormat = new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
  });
  const hourMinute = new Intl.DateTimeFormat("en-GB", {
    timeZone: TIME_ZONE, hour: "2-digit", minute: "2-digit", hour12: false,
  });
  function clock(iso) {
    return iso ? timeFormat.format(new Date(iso)) : "";
  }

  // One uPlot per chart, made on first data and fed new series after (axes, time labels in the
  // configured zone, values on hover in the legend).
  function chart(id, series, xs, ys) {
    const el = $(id);
    const data = [xs, ...ys];
    if (charts[id]) {
      charts[id].setData(data);
      return;
    }
    charts[id] = new uPlot({
      width: Math.max(300, el.clientWidth),
      height: 190,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), TIME_ZONE),
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max * 1.15)] } },
      axes: [
        { values: (u, ticks) => ticks.map((t) => hourMinute.format(new Date(t * 1000))), space: 60 },
        { size: 44, values: (u, ticks) => ticks.map((v) => (Number.isInteger(v) ? String(v) : "")) },
      ],
      legend: { live: true },
      series: [{ label: "minute", value: (u, t) => (t == null ? "" : hourMinute.format(new Date(t * 1000))) }, ...series],
    }, data, el);
  }

  function minutesOf(c) {
    const start = Date.parse(c.start) / 1000;
    return Array.from({ length: c.minutes }, (_, i) => start + i * 60);
  }

  function renderCharts(c) {
    if (!c) return;
    const xs = minutesOf(c);
    chart("pw-chart-heartbeats", [{ label: "heartbeats", stroke: "#1565c0", width: 2,
      fill: "rgba(21,101,192,0.08)", points: { show: false } }], xs, [c.heartbeats]);
    const reasons = Object.keys(c.ends);
    chart("pw-chart-ends", [
      { label: "started", stroke: "#424242", width: 2, dash: [6, 4], points: { show: false } },
      ...reasons.map((r) => ({ label: r, stroke: COLOURS[r] || "#333", width: 2, points: { show: false } })),
    ], xs, [c.starts, ...reasons.map((r) => c.ends[r])]);
  }

  window.addEventListener("resize", () => {
    for (const [id, u] of Object.entries(charts)) u.setSize({ width: Math.max(300, $(id).clientWidth), height: 190 });
  });

  const form = $("pw-filters");
  let typing = null;
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      const data = new FormData(form);
      query = { search: data.get("search"), state: data.get("state"), game: data.get("game"),
        cafe: data.get("cafe"), reason: data.get("reason"), page: 1 };
      send(Object.assign({ type: "query" }, query));
    }, 250);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  $("pw-prev").addEventListener("click", () => { query.page = Math.max(1, table.page - 1); send(Object.assign({ type: "query" }, query)); });
  $("pw-next").addEventListener("click", () => { query.page = table.page + 1; send(Object.assign({ type: "query" }, query)); });

  connect();
})();
