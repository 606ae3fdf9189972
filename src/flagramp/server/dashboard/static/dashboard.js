// Guard charts on a run's page: each criterion's estimate with its interval
// (uPlot). The data come over Server-Sent Events from guards/stream whenever
// the run's log or its current look changes (points are merged in by time);
// where EventSource is missing or keeps failing, the page polls guards.json
// every few seconds instead. `data-live` on the box says
// which ("sse" or "poll"). No inline script: the page's CSP allows only files
// served from here.
(function () {
  "use strict";
  var box = document.getElementById("guard-charts");
  if (!box || typeof uPlot === "undefined") { return; }
  var src = box.getAttribute("data-src");
  var stream = box.getAttribute("data-stream");
  var every = Math.max(2, Number(box.getAttribute("data-every")) || 5) * 1000;
  // Failures in a row before the page gives up on the stream and polls.
  var MAX_FAILURES = 3;
  var charts = {};
  // Each criterion's points by epoch second: what the server sent so far. A
  // `guards` event carries either the whole series (on load, and when the
  // run's log grows) or only the current look's points (a controller tick
  // while the stage runs); both are merged in, so a healthy stage's chart
  // grows by a point a tick.
  var points = {};
  // One point gets an hour either side instead of uPlot's default of years
  // (as the server's `range`, run_views.x_range).
  var ONE_POINT_MARGIN = 3600;
  var ranges = {};

  function xRange(name) {
    return function (u, min, max) {
      var r = ranges[name];
      return r && r.length === 2 ? [r[0], r[1]] : [min, max];
    };
  }

  function merge(name, s) {
    var known = points[name] || (points[name] = {});
    for (var i = 0; i < s.t.length; i += 1) {
      known[s.t[i]] = [s.estimate[i], s.lower[i], s.upper[i], s.reference[i]];
    }
    var times = Object.keys(known).map(Number).sort(function (a, b) { return a - b; });
    var data = [times, [], [], [], []];
    times.forEach(function (t) {
      for (var k = 0; k < 4; k += 1) { data[k + 1].push(known[t][k]); }
    });
    ranges[name] = times.length === 0 ? [] : times[0] === times[times.length - 1]
      ? [times[0] - ONE_POINT_MARGIN, times[0] + ONE_POINT_MARGIN]
      : [times[0], times[times.length - 1]];
    return data;
  }

  function mark(name) {
    var x = charts[name].scales.x;
    charts[name].root.parentNode.setAttribute("data-x-span", String(x.max - x.min));
  }

  function width() { return Math.max(260, Math.min(box.clientWidth - 20, 900)); }

  function draw(criteria) {
    var names = Object.keys(criteria).sort();
    if (names.length === 0) { return; }
    var empty = box.querySelector("p.muted");
    if (empty) { empty.remove(); }
    names.forEach(function (name) {
      var data = merge(name, criteria[name]);
      if (charts[name]) {
        charts[name].setData(data);
        charts[name].root.parentNode.setAttribute("data-points", String(data[0].length));
        mark(name);
        return;
      }
      var figure = document.createElement("figure");
      figure.className = "chart";
      figure.setAttribute("data-criterion", name);
      figure.setAttribute("data-points", String(data[0].length));
      var caption = document.createElement("figcaption");
      caption.textContent = name + ": estimate (solid), interval (dashed), reference (dotted)";
      figure.appendChild(caption);
      box.appendChild(figure);
      charts[name] = new uPlot({
        width: width(), height: 220,
        scales: { x: { time: true, range: xRange(name) } },
        series: [
          {},
          { label: "estimate", stroke: "#1a4fa0", width: 2, points: { show: true } },
          { label: "lower", stroke: "#4b5563", dash: [6, 4] },
          { label: "upper", stroke: "#4b5563", dash: [6, 4] },
          { label: "reference", stroke: "#a3001b", dash: [2, 4] }
        ]
      }, data, figure);
      mark(name);
    });
  }

  function load() {
    fetch(src, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { criteria: {} }; })
      .then(function (doc) { draw(doc.criteria || {}); })
      .catch(function () { /* the next poll tries again */ });
  }

  function poll() {
    box.setAttribute("data-live", "poll");
    load();
    setInterval(load, every);
  }

  function listen() {
    var failures = 0;
    var opened = false;
    var source = new EventSource(stream, { withCredentials: true });
    source.addEventListener("open", function () {
      failures = 0;
      opened = true;
      box.setAttribute("data-live", "sse");
    });
    source.addEventListener("guards", function (event) {
      failures = 0;
      box.setAttribute("data-live", "sse");
      try { draw(JSON.parse(event.data).criteria || {}); } catch (e) { /* next event */ }
    });
    source.addEventListener("error", function () {
      failures += 1;
      // CLOSED: the server refused the stream (not an event stream, 4xx/5xx)
      // and the browser will not retry it. A stream that never opened (a proxy
      // that cuts it) is not worth waiting for either; one that worked gets a
      // few reconnections (a server restart) before the page polls.
      if (source.readyState === EventSource.CLOSED || !opened || failures >= MAX_FAILURES) {
        source.close();
        poll();
      }
    });
  }

  if (stream && typeof EventSource !== "undefined") { listen(); } else { poll(); }
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (n) { charts[n].setSize({ width: width(), height: 220 }); });
  });
})();
