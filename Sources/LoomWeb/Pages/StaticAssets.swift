/// The dashboard's stylesheet and script, served from the binary: no build step, no CDN,
/// nothing fetched from the network.
public enum StaticAssets {
    public static let css = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
        nav { background: #22303c; color: #fff; padding: 8px 16px; }
        nav a { color: #cfe3ff; margin-left: 14px; text-decoration: none; }
        main { padding: 12px 20px; }
        h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 22px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 6px 0; background: #fff; }
        th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; font-size: 13px; }
        th { background: #eef2f5; }
        pre { background: #fff; border: 1px solid #ddd; padding: 8px; overflow: auto; max-height: 480px; font-size: 12px; }
        .status-running { color: #0a6; } .status-parked { color: #b60; } .status-failed, .status-cancelled { color: #b00; }
        .blocking { color: #b00; font-weight: bold; } .warn { color: #b60; } .info { color: #555; }
        .gate { border: 2px solid #b60; background: #fff8ec; padding: 10px; margin: 10px 0; }
        .problem { color: #b00; }
        .muted { color: #777; }
        form.inline { display: inline; }
        textarea { width: 100%; max-width: 720px; }
        .diff-add { color: #070; } .diff-del { color: #a00; } .diff-hunk { color: #06c; }
        #live-output { max-height: 240px; }
        /* The flow picture at its own size, scrolled rather than shrunk: its labels stay legible. */
        .graph { overflow: auto; max-height: 900px; }
        .graph img { max-width: none; background: #fff; border: 1px solid #ddd; }
        button { padding: 4px 12px; }
        .card { background: #fff; border: 1px solid #ddd; padding: 6px 12px; margin: 8px 0; max-width: 960px; }
        .card .asks { font-size: 16px; font-weight: 600; }
        .card h3 { font-size: 14px; margin: 10px 0 2px; }
        .card pre.card-section { border: none; padding: 2px 0 2px 8px; margin: 0; font-size: 13px; white-space: pre-wrap; max-height: 320px; }
        button.primary { background: #0a6; color: #fff; border: 1px solid #085; font-weight: 600; }
        .danger-zone { margin-left: 48px; padding-left: 16px; border-left: 1px solid #ddd; }
        button.danger { background: #fff; color: #b00; border: 1px solid #b00; }
        """

    /// Live updates: the task page listens to /events (SSE fed by loomd's watch stream) and
    /// reloads its live panel when a journal entry arrives; the fleet page refreshes itself.
    public static let script = """
        (function () {
          var body = document.body;
          var project = body.getAttribute('data-project');
          var task = body.getAttribute('data-task');
          function refreshLive() {
            var live = document.getElementById('live');
            if (!live) return;
            var active = document.activeElement;
            if (active && (active.tagName === 'TEXTAREA' || active.tagName === 'INPUT') && active.value) return;
            fetch('/task/live?' + new URLSearchParams({project: project, task: task}), {credentials: 'same-origin'})
              .then(function (r) { return r.ok ? r.text() : null; })
              .then(function (html) { if (html !== null) live.innerHTML = html; });
          }
          if (project && task) {
            // A safety net under the event stream: a missed event (a reconnect at a bad moment)
            // only delays the panel, it cannot freeze it.
            setInterval(function () {
              var status = document.getElementById('task-status');
              var text = status ? status.textContent : '';
              if (['done', 'failed', 'cancelled', 'abandoned'].indexOf(text) < 0) refreshLive();
            }, 5000);
          }
          if (project && task && window.EventSource) {
            var timer = null;
            var after = body.getAttribute('data-after') || '0';
            var source = new EventSource('/events?' + new URLSearchParams({project: project, task: task, after: after}));
            // What an agent prints while it works, shown until its result arrives.
            source.addEventListener('progress', function (event) {
              var chunk = JSON.parse(event.data);
              var pane = document.getElementById('live-output');
              if (!pane) {
                var title = document.createElement('h2');
                title.textContent = 'Live output';
                pane = document.createElement('pre');
                pane.id = 'live-output';
                var main = document.querySelector('main') || body;
                main.insertBefore(pane, main.children[2] || null);
                main.insertBefore(title, pane);
              }
              if (pane.getAttribute('data-key') !== chunk.key) {
                pane.setAttribute('data-key', chunk.key);
                pane.textContent = chunk.unit + ':\\n';
              }
              pane.textContent = (pane.textContent + chunk.text).slice(-20000);
            });
            source.addEventListener('entry', function (event) {
              var entry = JSON.parse(event.data);
              var rows = document.getElementById('timeline-rows');
              if (rows && !document.getElementById('seq-' + entry.seq)) {
                var row = document.createElement('tr');
                row.id = 'seq-' + entry.seq;
                [entry.seq, entry.tick, entry.time, entry.kind, entry.actor, entry.summary].forEach(function (text) {
                  var cell = document.createElement('td'); cell.textContent = text; row.appendChild(cell);
                });
                rows.appendChild(row);
              }
              var counter = document.getElementById('event-count');
              if (counter) counter.textContent = String(Number(counter.textContent || '0') + 1);
              clearTimeout(timer);
              timer = setTimeout(refreshLive, 150);
            });
          }
          if (body.getAttribute('data-fleet') && window.EventSource) {
            var fleetTimer = null;
            function refreshFleet() {
              fetch(location.href, {credentials: 'same-origin'})
                .then(function (r) { return r.ok ? r.text() : null; })
                .then(function (html) {
                  if (!html) return;
                  var fresh = new DOMParser().parseFromString(html, 'text/html').getElementById('fleet-live');
                  var live = document.getElementById('fleet-live');
                  if (fresh && live) { live.innerHTML = fresh.innerHTML; window.loomFleetRefreshes = (window.loomFleetRefreshes || 0) + 1; }
                });
            }
            new EventSource('/events?fleet=1').addEventListener('changed', function () {
              clearTimeout(fleetTimer);
              fleetTimer = setTimeout(refreshFleet, 200);
            });
          }
          if (body.getAttribute('data-refresh')) {
            setInterval(function () {
              var active = document.activeElement;
              if (!(active && active.tagName === 'INPUT')) location.reload();
            }, Number(body.getAttribute('data-refresh')) * 1000);
          }
        })();
        """
}
