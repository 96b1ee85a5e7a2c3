// The supervisor's weekly trend: ECharts (vendored) draws the JSON of /supervision/trend.json.
(function () {
  "use strict";
  function draw(box) {
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        var L = data.labels;
        var weeks = data.weeks.map(function (w) { return w.week_start.slice(5); });
        var pct = function (key) { return data.weeks.map(function (w) { return w[key] === null ? null : Math.round(w[key] * 1000) / 10; }); };
        var count = function (key) { return data.weeks.map(function (w) { return w[key]; }); };
        var chart = window.echarts.init(box, null, { renderer: "canvas" });
        chart.setOption({
          animation: false,
          tooltip: { trigger: "axis" },
          legend: { top: 0 },
          grid: { left: 48, right: 48, top: 36, bottom: 28 },
          xAxis: { type: "category", data: weeks },
          yAxis: [
            { type: "value", name: L.rate_axis, min: 0, max: 100 },
            { type: "value", name: L.count_axis, minInterval: 1 }
          ],
          series: [
            { name: L.on_time_rate, type: "line", data: pct("on_time_rate"), connectNulls: true, itemStyle: { color: "#1a7f37" } },
            { name: L.early_rate, type: "line", data: pct("early_rate"), connectNulls: true, itemStyle: { color: "#0969da" } },
            { name: L.overdue_open, type: "bar", yAxisIndex: 1, data: count("overdue_open"), itemStyle: { color: "#cf222e" } },
            { name: L.warned, type: "bar", yAxisIndex: 1, data: count("warned"), itemStyle: { color: "#d4a72c" } }
          ]
        });
        box.dataset.drawn = "1";
        window.addEventListener("resize", function () { chart.resize(); });
      })
      .catch(function () { box.textContent = box.getAttribute("aria-label") + " —"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("trend-chart");
    if (box && window.echarts) { draw(box); }
  });
})();
