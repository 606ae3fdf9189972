// Guard charts on a run's page: each criterion's estimate with its interval
// (uPlot), read from guards.json and redrawn every few seconds. No inline
// script: the page's CSP allows only files served from here.
(function () {
  "use strict";
  var box = document.getElementById("guard-charts");
  if (!box || typeof uPlot === "undefined") { return; }
  var src = box.getAttribute("data-src");
  var every = Math.max(2, Number(box.getAttribute("data-every")) || 5) * 1000;
  var charts = {};

  function width() { return Math.max(260, Math.min(box.clientWidth - 20, 900)); }

  function draw(criteria) {
    var names = Object.keys(criteria).sort();
    if (names.length === 0) { return; }
    var empty = box.querySelector("p.muted");
    if (empty) { empty.remove(); }
    names.forEach(function (name) {
      var s = criteria[name];
      var data = [s.t, s.estimate, s.lower, s.upper, s.reference];
      if (charts[name]) { charts[name].setData(data); return; }
      var figure = document.createElement("figure");
      figure.className = "chart";
      var caption = document.createElement("figcaption");
      caption.textContent = name + ": estimate (solid), interval (dashed), reference (dotted)";
      figure.appendChild(caption);
      box.appendChild(figure);
      charts[name] = new uPlot({
        width: width(), height: 220,
        series: [
          {},
          { label: "estimate", stroke: "#1a4fa0", width: 2, points: { show: true } },
          { label: "lower", stroke: "#4b5563", dash: [6, 4] },
          { label: "upper", stroke: "#4b5563", dash: [6, 4] },
          { label: "reference", stroke: "#a3001b", dash: [2, 4] }
        ]
      }, data, figure);
    });
  }

  function load() {
    fetch(src, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { criteria: {} }; })
      .then(function (doc) { draw(doc.criteria || {}); })
      .catch(function () { /* the next poll tries again */ });
  }

  load();
  setInterval(load, every);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (n) { charts[n].setSize({ width: width(), height: 220 }); });
  });
})();
