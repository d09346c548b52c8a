// Draw every chart on the page from the JSON beside it, then fold its data table away.
// Without JavaScript (or without plotly) the tables stay open and nothing else changes.
(function () {
  "use strict";
  if (typeof window.Plotly === "undefined") { return; }
  var plots = document.querySelectorAll(".plot[data-figure]");
  Array.prototype.forEach.call(plots, function (plot) {
    var source = document.getElementById(plot.dataset.figure);
    if (!source) { return; }
    var figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(plot, figure.data, figure.layout, {
      responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d", "sendDataToCloud"]
    });
    var table = plot.parentNode.querySelector("details.chart-data");
    if (table) { table.open = false; }
  });
})();
